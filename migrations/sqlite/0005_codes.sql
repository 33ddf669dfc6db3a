-- Codes of an event: a discount, access to hidden tiers, or both.
-- Paired with ../postgres/0005_codes.sql.
CREATE TABLE codes (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    code            TEXT NOT NULL,                         -- upper-case, as typed by buyers
    discount_kind   TEXT NOT NULL CHECK (discount_kind IN ('none', 'percent', 'fixed')),
    discount_value  BIGINT NOT NULL DEFAULT 0 CHECK (discount_value >= 0),  -- percent 1-100, or minor units
    tier_ids        TEXT NOT NULL DEFAULT '',              -- discount scope, comma-separated; empty = every tier
    unlock_tier_ids TEXT NOT NULL DEFAULT '',              -- hidden tiers revealed, comma-separated
    max_uses        BIGINT CHECK (max_uses IS NULL OR max_uses >= 1),
    max_uses_per_user BIGINT CHECK (max_uses_per_user IS NULL OR max_uses_per_user >= 1),
    valid_from      BIGINT,
    valid_until     BIGINT,
    uses            BIGINT NOT NULL DEFAULT 0,             -- reserved with holds, final on payment
    created_at      BIGINT NOT NULL,
    CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    CHECK (discount_kind <> 'percent' OR (discount_value BETWEEN 1 AND 100)),
    UNIQUE (event_id, code)
);
