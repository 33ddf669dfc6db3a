-- Tickets and the door: per-event signing keys, one ticket per unit bought,
-- check-ins that admit a ticket exactly once, and every scan recorded.
-- Paired with ../postgres/0012_tickets.sql (identical SQL).

-- Each event's Ed25519 key pair. The private key is sealed under the
-- instance master key (integrations::keys) and never leaves the server; the
-- public key is published to scanners.
CREATE TABLE event_keys (
    event_id    TEXT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    public_key  TEXT NOT NULL,                -- base64url, 32 bytes
    sealed_key  TEXT NOT NULL,                -- ek1.<master key id>.<nonce+ciphertext>
    created_at  BIGINT NOT NULL
);

-- One ticket per unit of a paid order. A re-issued ticket is a new row; the
-- old one is revoked, and at most one ticket per unit is valid at a time.
CREATE TABLE tickets (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL REFERENCES orders (id),
    order_item_id  TEXT NOT NULL REFERENCES order_items (id),
    event_id       TEXT NOT NULL REFERENCES events (id),
    tier_id        TEXT NOT NULL REFERENCES tiers (id),
    seat_label     TEXT,
    attendee_name  TEXT NOT NULL,
    attendee_email TEXT NOT NULL,
    code           TEXT NOT NULL UNIQUE,       -- the signed QR payload
    reference      TEXT NOT NULL,              -- short code printed under the QR, typed by door staff
    status         TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
    revoked_reason TEXT CHECK (revoked_reason IS NULL OR revoked_reason IN ('refunded', 'cancelled', 'reissued')),
    pdf_key        TEXT,                       -- the stored PDF (file store key)
    issued_at      BIGINT NOT NULL,
    revoked_at     BIGINT,
    CHECK ((status = 'valid') = (revoked_reason IS NULL))
);
CREATE UNIQUE INDEX tickets_one_valid_per_unit ON tickets (order_item_id) WHERE status = 'valid';
CREATE UNIQUE INDEX tickets_reference_key ON tickets (event_id, reference);
CREATE INDEX tickets_order_idx ON tickets (order_id);
CREATE INDEX tickets_event_idx ON tickets (event_id, status);

-- Admissions at the door. The partial unique index is the guard: a ticket
-- has at most one standing admission, whatever the application does. An
-- offline admission that collides with another is kept as a flagged
-- conflict, never refused; an undone admission stays as history.
CREATE TABLE check_ins (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets (id),
    event_id    TEXT NOT NULL REFERENCES events (id),
    gate        TEXT NOT NULL,
    device      TEXT NOT NULL,
    staff_id    TEXT REFERENCES users (id),
    scanned_at  BIGINT NOT NULL,              -- when the scan happened (offline: the device's time)
    recorded_at BIGINT NOT NULL,              -- when the server learned of it
    flagged     BOOLEAN NOT NULL DEFAULT FALSE, -- admitted offline while already admitted elsewhere
    undone_at   BIGINT,                       -- undone by the organizer (a mistake)
    undone_by   TEXT REFERENCES users (id),
    undo_reason TEXT
);
CREATE UNIQUE INDEX check_ins_one_admission ON check_ins (ticket_id) WHERE undone_at IS NULL AND NOT flagged;
CREATE INDEX check_ins_event_idx ON check_ins (event_id);

-- Every scan, refused ones included. The client's nonce is the key: a
-- retried upload finds its scan and gets the same answer.
CREATE TABLE scans (
    nonce       TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events (id),
    ticket_id   TEXT REFERENCES tickets (id),
    gate        TEXT NOT NULL,
    device      TEXT NOT NULL,
    staff_id    TEXT REFERENCES users (id),
    scanned_at  BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    offline     BOOLEAN NOT NULL DEFAULT FALSE,
    result      TEXT NOT NULL CHECK (result IN ('valid', 'already_used', 'wrong_event', 'revoked', 'forged', 'unknown', 'flagged')),
    check_in_id TEXT REFERENCES check_ins (id),
    answer      TEXT NOT NULL                 -- JSON of the answer given
);
CREATE INDEX scans_event_idx ON scans (event_id, recorded_at);

-- Work for platform admins (e.g. tickets that could not be issued).
CREATE TABLE admin_tasks (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,                -- e.g. ticket_issuance_failed
    subject     TEXT NOT NULL,                -- what it is about (an order id)
    detail      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT,
    UNIQUE (kind, subject)
);

-- Refunds an organizer made on a paid order (the money goes back through the outbox).
ALTER TABLE orders ADD COLUMN refunded_at BIGINT;
