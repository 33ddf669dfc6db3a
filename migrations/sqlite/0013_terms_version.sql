-- A version of each event's hold terms (the event row, its tiers, their
-- quota links and its seat map), bumped by the database on every change, so
-- that an app instance may reuse what it read while the version is the same.
-- Triggers, rather than the app, keep it: no write path can forget.
ALTER TABLE events ADD COLUMN terms_version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER events_terms_version AFTER UPDATE ON events
WHEN NEW.terms_version = OLD.terms_version
BEGIN
    UPDATE events SET terms_version = OLD.terms_version + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER tiers_terms_insert AFTER INSERT ON tiers
BEGIN
    UPDATE events SET terms_version = terms_version + 1 WHERE id = NEW.event_id;
END;
CREATE TRIGGER tiers_terms_update AFTER UPDATE ON tiers
BEGIN
    UPDATE events SET terms_version = terms_version + 1 WHERE id IN (OLD.event_id, NEW.event_id);
END;
CREATE TRIGGER tiers_terms_delete AFTER DELETE ON tiers
BEGIN
    UPDATE events SET terms_version = terms_version + 1 WHERE id = OLD.event_id;
END;

CREATE TRIGGER tier_quotas_terms_insert AFTER INSERT ON tier_quotas
BEGIN
    UPDATE events SET terms_version = terms_version + 1
    WHERE id = (SELECT event_id FROM tiers WHERE id = NEW.tier_id);
END;
CREATE TRIGGER tier_quotas_terms_delete AFTER DELETE ON tier_quotas
BEGIN
    UPDATE events SET terms_version = terms_version + 1
    WHERE id = (SELECT event_id FROM tiers WHERE id = OLD.tier_id);
END;

CREATE TRIGGER seats_terms_insert AFTER INSERT ON seats
BEGIN
    UPDATE events SET terms_version = terms_version + 1 WHERE id = NEW.event_id;
END;
CREATE TRIGGER seats_terms_update AFTER UPDATE ON seats
BEGIN
    UPDATE events SET terms_version = terms_version + 1 WHERE id IN (OLD.event_id, NEW.event_id);
END;
CREATE TRIGGER seats_terms_delete AFTER DELETE ON seats
BEGIN
    UPDATE events SET terms_version = terms_version + 1 WHERE id = OLD.event_id;
END;
