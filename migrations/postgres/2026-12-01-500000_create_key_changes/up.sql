-- Other instances learn of key changes from this log instead of comparing
-- updated_at (the writer's clock) with their own clock.
--
-- Each change takes the next number from the one counter row, inside the
-- transaction that makes the change. The row stays locked until that
-- transaction ends, so changes commit in the order of their numbers, a
-- rolled-back change gives its number back, and a reader that asks for
-- "numbers above the last one I saw" can never skip a change that commits
-- later with a lower number. The numbers have no gaps; a gap in what a reader
-- finds means old rows were pruned, and it then drops its whole cache.
CREATE TABLE key_change_counter (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_change BIGINT NOT NULL
);
INSERT INTO key_change_counter (id, last_change) VALUES (1, 0);

CREATE TABLE key_changes (
    id BIGINT PRIMARY KEY NOT NULL,
    api_key_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX key_changes_created_at ON key_changes (created_at);

-- The watcher no longer asks by updated_at.
DROP INDEX api_keys_updated_at;
