-- Keyward schema, SQLite flavour. Keep in step with ../../postgres/ (same folder names, same columns).
-- Times are naive UTC TIMESTAMPs; ids are application-generated UUIDv7 text.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- random salt of the key-signing key; NULL until "Set up API keys"
    key_salt TEXT,
    keys_bootstrapped_at TIMESTAMP,
    require_totp BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('system-administrator', 'administrator', 'member')),
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    disabled_at TIMESTAMP,
    last_sign_in_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX users_org_id ON users (org_id);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's session key: a copy of this table cannot be replayed as cookies
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE setup_tokens (
    token_digest TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE TABLE sign_in_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- "email:<address>" or "ip:<address>"
    subject TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_subject ON sign_in_failures (subject, created_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    allow_query_key BOOLEAN NOT NULL DEFAULT 0,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    deleted_at TIMESTAMP,
    created_by_user_id TEXT REFERENCES users (id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    last_used_ip TEXT
);
CREATE INDEX api_keys_org_created ON api_keys (org_id, created_at);
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (org_id, name) WHERE deleted_at IS NULL;

CREATE TABLE key_secrets (
    id TEXT PRIMARY KEY NOT NULL,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    org_id TEXT NOT NULL REFERENCES organizations (id),
    -- the 12 public characters after "ask_": safe to show, log and search
    key_id TEXT NOT NULL UNIQUE,
    -- hex HMAC-SHA-256(org signing key, full key); erased when the key is deleted
    digest TEXT,
    created_at TIMESTAMP NOT NULL,
    not_after TIMESTAMP
);
CREATE INDEX key_secrets_api_key_id ON key_secrets (api_key_id);

CREATE TABLE key_scopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    action TEXT NOT NULL CHECK (action IN ('read', 'write', 'admin', '*')),
    resource TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX key_scopes_api_key_id ON key_scopes (api_key_id);

CREATE TABLE key_networks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    cidr TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX key_networks_api_key_id ON key_networks (api_key_id);

CREATE TABLE usage_buckets (
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    org_id TEXT NOT NULL REFERENCES organizations (id),
    hour TIMESTAMP NOT NULL,
    -- "allowed" or the rejection code
    outcome TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, hour, outcome)
);
CREATE INDEX usage_buckets_org_hour ON usage_buckets (org_id, hour);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT REFERENCES organizations (id),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'cli', 'system')),
    actor_id TEXT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    target_label TEXT,
    -- JSON: {"before": {...}, "after": {...}} or other context
    details TEXT NOT NULL,
    client_ip TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_org_created ON audit_events (org_id, created_at);
CREATE INDEX audit_events_target ON audit_events (target_id);

-- the audit log is append-only, whatever code runs against it
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
