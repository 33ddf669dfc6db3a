-- Accounts: sessions, emailed codes, organizer applications, staff invitations
-- and scopes. Paired with ../postgres/0002_accounts.sql.

-- Server-side sessions (tower-sessions records). The cookie holds only the id.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,               -- JSON of the session's fields
    expires_at BIGINT NOT NULL              -- UTC ms; expired rows are deleted by the cleanup job
);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- One-time 6-digit codes sent by email (verification, later passwordless sign-in).
-- Only a keyed hash is stored; a code is single use and burned after 5 wrong tries.
CREATE TABLE email_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'sign_in')),
    code_hash  TEXT NOT NULL,               -- HMAC-SHA256(secret, user id || purpose || code), hex
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, purpose)          -- a new code replaces the previous one
);

-- Organizer applications live on the organization row itself.
ALTER TABLE organizations ADD COLUMN decision_reason TEXT;     -- given by the admin on approval or rejection
ALTER TABLE organizations ADD COLUMN decided_at BIGINT;
ALTER TABLE organizations ADD COLUMN decided_by TEXT REFERENCES users (id);

-- Staff scoped to some events; a staff member with no rows here covers every
-- event of the organization.
CREATE TABLE staff_event_scopes (
    org_id   TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, user_id, event_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);

-- Invitations to join an organization as door staff, accepted by signing in or up.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,             -- lower-cased; only this account may accept
    token_hash  TEXT NOT NULL UNIQUE,      -- SHA-256 of the emailed token, hex
    event_ids   TEXT NOT NULL DEFAULT '',  -- comma-separated event ids; empty = every event
    invited_by  TEXT NOT NULL REFERENCES users (id),
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX invitations_org_idx ON invitations (org_id);
