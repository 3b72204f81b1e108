-- Each instance asks "which keys changed since …?" twice a second.
CREATE INDEX api_keys_updated_at ON api_keys (updated_at);
