CREATE INDEX api_keys_updated_at ON api_keys (updated_at);
DROP TABLE key_changes;
DROP TABLE key_change_counter;
