-- Payment sessions: the simulated gateway's own hosted sessions.
-- Paired with ../sqlite/0010_payment_sessions.sql (identical SQL).

-- The simulated gateway (development only) keeps its sessions here, shaped
-- like Stripe's Checkout Sessions, so they survive restarts, several
-- instances agree on them, and the webhook handler can re-fetch them exactly
-- as it re-fetches Stripe's.
CREATE TABLE simulated_sessions (
    id              TEXT PRIMARY KEY,            -- cs_sim_…
    order_id        TEXT NOT NULL,               -- client_reference_id
    idempotency_key TEXT NOT NULL UNIQUE,        -- one session per key, as Stripe does
    status          TEXT NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
    payment_status  TEXT NOT NULL CHECK (payment_status IN ('paid', 'unpaid')),
    amount_total    BIGINT NOT NULL CHECK (amount_total > 0),   -- minor units
    currency        TEXT NOT NULL,               -- lower-case ISO code, as Stripe writes it
    customer_email  TEXT NOT NULL,
    payment_intent  TEXT,                        -- set once paid (pi_sim_…)
    success_url     TEXT NOT NULL,
    cancel_url      TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,             -- UTC ms; the session cannot be paid after it
    created_at      BIGINT NOT NULL              -- UTC ms
);
CREATE INDEX simulated_sessions_created_idx ON simulated_sessions (created_at);
