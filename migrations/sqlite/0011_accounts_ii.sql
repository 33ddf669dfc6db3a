-- Accounts II: profiles and deletion, Google identities, password resets,
-- API refresh tokens, organization API keys, abuse limits and the audit log.
-- Paired with ../postgres/0011_accounts_ii.sql (identical SQL).

-- Profile fields, and the soft delete that anonymizes an account.
ALTER TABLE users ADD COLUMN phone TEXT;           -- digits with an optional leading +; NULL when not given
ALTER TABLE users ADD COLUMN photo_key TEXT;       -- file-store key of the re-encoded profile photo
ALTER TABLE users ADD COLUMN deleted_at BIGINT;    -- set when the person deleted the account; personal fields are anonymized then

-- The signed-in user of a session (NULL while anonymous), kept beside the
-- record so a person's sessions can be counted and ended.
ALTER TABLE sessions ADD COLUMN user_id TEXT;
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Accounts at identity providers (Google) linked to an admit account.
CREATE TABLE oauth_identities (
    provider   TEXT NOT NULL CHECK (provider IN ('google')),
    subject    TEXT NOT NULL,                 -- the provider's stable user id (the ID token's sub)
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,                 -- the verified email the provider gave when the account was linked
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oauth_identities_user_idx ON oauth_identities (user_id);

-- Emailed password-reset links: single use, short-lived, stored hashed.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,              -- SHA-256 of the emailed token, hex
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,                        -- set once; a used link never works again
    created_at BIGINT NOT NULL
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- API refresh tokens. Each use rotates the token; a family is every token
-- rotated from one sign-in, and using a rotated token again revokes it all.
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,                 -- shared by every token rotated from one sign-in
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,          -- SHA-256 of the token, hex
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,                        -- when it was rotated into a newer token
    revoked_at BIGINT,                        -- family revoked (reuse, sign-out everywhere, reset, deletion)
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- Organization API keys: shown once, stored hashed, read-only or read-write.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,               -- what the owner calls it ("box office app")
    prefix       TEXT NOT NULL,               -- the key's first characters, to tell keys apart in lists
    key_hash     TEXT NOT NULL UNIQUE,        -- SHA-256 of the whole key, hex
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'read_write')),
    created_by   TEXT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,                      -- updated at most once a minute
    revoked_at   BIGINT                       -- a revoked key fails at once
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);

-- Abuse limits: one fixed-window counter per bucket, shared by every app
-- instance on the database (taken with a conditional upsert).
CREATE TABLE rate_limits (
    bucket       TEXT PRIMARY KEY,            -- action, ip or account, and a hash of the ip or email
    window_start BIGINT NOT NULL,             -- start of the window the hits belong to
    hits         BIGINT NOT NULL CHECK (hits >= 0)
);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);

-- Security events and admin actions, newest last. No foreign keys: the log
-- outlives what it talks about and never blocks a change.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,              -- UUIDv7, time-ordered
    at         BIGINT NOT NULL,
    action     TEXT NOT NULL,                 -- e.g. sign_in, sign_in_failed, password_changed, role_changed
    actor_id   TEXT,                          -- who did it; NULL for an anonymous visitor
    subject_id TEXT,                          -- the account it concerns
    org_id     TEXT,                          -- the organization it concerns
    ip         TEXT,                          -- client address, for security events
    detail     TEXT NOT NULL DEFAULT '{}'     -- JSON; emails and phone numbers masked
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, at);
