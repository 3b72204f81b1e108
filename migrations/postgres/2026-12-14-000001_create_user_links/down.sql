DROP TABLE user_links;
ALTER TABLE users DROP COLUMN invited_at;
