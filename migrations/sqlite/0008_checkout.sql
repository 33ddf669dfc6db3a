-- Checkout: who each ticket is for, and the bill as it was accepted.
-- Paired with ../postgres/0008_checkout.sql (identical SQL).

-- Each ticket's holder, entered at checkout.
ALTER TABLE order_items ADD COLUMN attendee_name TEXT;
ALTER TABLE order_items ADD COLUMN attendee_email TEXT;

-- The fee and total the buyer accepted at checkout (NULL before), and when
-- the order was paid.
ALTER TABLE orders ADD COLUMN fee_minor BIGINT CHECK (fee_minor IS NULL OR fee_minor >= 0);
ALTER TABLE orders ADD COLUMN total_minor BIGINT CHECK (total_minor IS NULL OR total_minor >= 0);
ALTER TABLE orders ADD COLUMN paid_at BIGINT;
