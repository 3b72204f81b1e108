-- Key names are unique per organization whatever their case: "Sync" and
-- "sync" can no longer live side by side. name_key is the name folded to
-- lower case; the application computes it (Rust's Unicode lowercase) for
-- every key it writes, and repairs at startup the rows where the database's
-- lower() below folded differently.
ALTER TABLE api_keys ADD COLUMN name_key TEXT NOT NULL DEFAULT '';

-- Live keys whose names already differ only in case: the oldest keeps its
-- name, later ones get " (2)", " (3)", … appended (see README, Upgrading).
UPDATE api_keys SET name = api_keys.name || ' (' || duplicates.n || ')'
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY org_id, lower(name) ORDER BY created_at, id) AS n
    FROM api_keys
    WHERE deleted_at IS NULL
) AS duplicates
WHERE api_keys.id = duplicates.id AND duplicates.n > 1;

UPDATE api_keys SET name_key = lower(name);

DROP INDEX api_keys_live_name;
CREATE UNIQUE INDEX api_keys_live_name_key ON api_keys (org_id, name_key) WHERE deleted_at IS NULL;
