-- Payments: the gateway session of an order, and every gateway event applied.
-- Paired with ../postgres/0009_payments.sql (identical SQL).

-- The hosted checkout session (one per order) and the payment it produced.
ALTER TABLE orders ADD COLUMN payment_session_id TEXT;
ALTER TABLE orders ADD COLUMN payment_url TEXT;
ALTER TABLE orders ADD COLUMN payment_ref TEXT;
CREATE UNIQUE INDEX orders_payment_session_key ON orders (payment_session_id);

-- Gateway events, written in the same transaction as their effect: the
-- primary key makes a duplicate delivery change nothing.
CREATE TABLE payment_events (
    id         TEXT PRIMARY KEY,               -- the gateway's event id (evt_…)
    order_id   TEXT REFERENCES orders (id),
    kind       TEXT NOT NULL,                  -- e.g. checkout.session.completed
    outcome    TEXT NOT NULL,                  -- what admit did: paid, duplicate-free, late, ignored
    created_at BIGINT NOT NULL
);
CREATE INDEX payment_events_order_idx ON payment_events (order_id);
