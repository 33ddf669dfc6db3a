-- Catalogue details: terms, refund policy and banner on events; early-bird
-- prices on tiers. Paired with ../postgres/0003_catalogue.sql.

ALTER TABLE events ADD COLUMN terms TEXT NOT NULL DEFAULT '';            -- terms and conditions (Markdown)
ALTER TABLE events ADD COLUMN refund_policy TEXT NOT NULL DEFAULT '';    -- rules "days:percent,…", e.g. "30:100,7:50"
ALTER TABLE events ADD COLUMN banner_key TEXT;                           -- storage key of the banner images, if any

ALTER TABLE tiers ADD COLUMN early_bird_price_minor BIGINT CHECK (early_bird_price_minor IS NULL OR early_bird_price_minor >= 0);
ALTER TABLE tiers ADD COLUMN early_bird_until BIGINT;                    -- UTC ms; the early-bird price applies before this
