DROP INDEX api_keys_live_name_key;
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (org_id, name) WHERE deleted_at IS NULL;
ALTER TABLE api_keys DROP COLUMN name_key;
