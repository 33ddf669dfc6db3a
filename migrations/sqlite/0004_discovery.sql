-- Full-text search over events. The app writes `search_text` already
-- normalized (lower-case ASCII, accents folded), so SQLite FTS5 and
-- PostgreSQL's 'simple' configuration index the very same words.
-- Paired with ../postgres/0004_discovery.sql.

ALTER TABLE events ADD COLUMN search_text TEXT NOT NULL DEFAULT '';   -- normalized title, venue, city, address, description
UPDATE events SET search_text = lower(title || ' ' || venue || ' ' || city || ' ' || address || ' ' || description);

CREATE VIRTUAL TABLE events_fts USING fts5(search_text, content = 'events', content_rowid = 'rowid', tokenize = 'unicode61');
INSERT INTO events_fts (events_fts) VALUES ('rebuild');

CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER events_fts_update AFTER UPDATE OF search_text ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO events_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE INDEX events_city_idx ON events (city);
