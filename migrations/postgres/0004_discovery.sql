-- Full-text search over events. The app writes `search_text` already
-- normalized (lower-case ASCII, accents folded), so SQLite FTS5 and
-- PostgreSQL's 'simple' configuration index the very same words.
-- Paired with ../sqlite/0004_discovery.sql.

ALTER TABLE events ADD COLUMN search_text TEXT NOT NULL DEFAULT '';   -- normalized title, venue, city, address, description
UPDATE events SET search_text = lower(title || ' ' || venue || ' ' || city || ' ' || address || ' ' || description);

CREATE INDEX events_search_idx ON events USING GIN (to_tsvector('simple', search_text));

CREATE INDEX events_city_idx ON events (city);
