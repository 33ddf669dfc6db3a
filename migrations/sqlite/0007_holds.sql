-- Holds: the seats and codes an open order keeps, and one open hold per
-- buyer and event. Paired with ../postgres/0007_holds.sql (identical SQL).

-- The code a hold reserved a use of (final on payment, given back on release).
ALTER TABLE orders ADD COLUMN code_id TEXT REFERENCES codes (id) ON DELETE SET NULL;

-- A buyer has at most one open hold per event: a new hold replaces the old
-- one inside the same transaction, and this index refuses anything else.
CREATE UNIQUE INDEX orders_one_open_hold_key ON orders (user_id, event_id) WHERE status = 'reserved';
CREATE INDEX orders_event_idx ON orders (event_id, status);

-- The seat an item is for, kept as history: seat ids can be replaced with the
-- map, so the label ("Balcony C12") is stored with it.
ALTER TABLE order_items ADD COLUMN seat_id TEXT;
ALTER TABLE order_items ADD COLUMN seat_label TEXT;
-- The code's discount on this unit, fixed when the hold was taken.
ALTER TABLE order_items ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0
    CHECK (discount_minor >= 0 AND discount_minor <= unit_price_minor);

-- Active claims on seats: one row per seat that is held or sold. The primary
-- key is the guard against double-claiming: a second claim on a seat cannot be
-- written, whatever the application does. Releasing a hold deletes its claims.
-- No cascade from seats: a map whose seats are claimed cannot be deleted.
CREATE TABLE seat_claims (
    seat_id    TEXT PRIMARY KEY REFERENCES seats (id),
    event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    order_id   TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX seat_claims_order_idx ON seat_claims (order_id);
CREATE INDEX seat_claims_event_idx ON seat_claims (event_id);
