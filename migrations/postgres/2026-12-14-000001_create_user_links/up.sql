-- People administration. An invited user exists from the invitation on,
-- with a random password nobody knows, until they accept it: `invited_at`
-- says so (and keeps them out of the count of System Administrators).
ALTER TABLE users ADD COLUMN invited_at TIMESTAMP;

-- One-time links an administrator issues for a user: an invitation (24 hours)
-- or a password reset (1 hour). Only the SHA-256 of the link's token is
-- stored, so this table cannot be replayed as links; used_at is set once.
CREATE TABLE user_links (
    token_digest TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX user_links_user_id ON user_links (user_id);
