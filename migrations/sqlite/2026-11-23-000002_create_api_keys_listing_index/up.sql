-- Covers the list page: its ordering, its status filters and the status counts
-- are answered from this index alone, without reading the key rows.
CREATE INDEX api_keys_live_listing ON api_keys (org_id, created_at, id, enabled, revoked_at, expires_at)
WHERE deleted_at IS NULL;
