-- Two-factor authentication (TOTP). users.totp_secret, in the first schema
-- and unused until now, holds the confirmed secret sealed: AES-256-GCM under a
-- key derived from the server secret, bound to the user's id; never plain text.
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;
-- the last time step whose code was accepted: each code works once
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- A secret being set up, sealed like users.totp_secret, until a first code
-- confirms it; `id` names this attempt, so a form confirms the secret it showed.
CREATE TABLE totp_enrolments (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Single-use recovery codes, only as hex HMAC-SHA-256 under a key derived
-- from the server secret; used_at set once, when the code is spent.
CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE UNIQUE INDEX recovery_codes_user_digest ON recovery_codes (user_id, digest);
