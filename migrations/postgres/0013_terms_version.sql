-- A version of each event's hold terms (the event row, its tiers, their
-- quota links and its seat map), bumped by the database on every change, so
-- that an app instance may reuse what it read while the version is the same.
-- Triggers, rather than the app, keep it: no write path can forget.
ALTER TABLE events ADD COLUMN terms_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION events_terms_version() RETURNS trigger AS $$
BEGIN
    IF NEW.terms_version = OLD.terms_version THEN
        NEW.terms_version := OLD.terms_version + 1;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_terms_version BEFORE UPDATE ON events
FOR EACH ROW EXECUTE FUNCTION events_terms_version();

-- For tiers and seats, which carry event_id.
CREATE FUNCTION bump_terms_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE events SET terms_version = terms_version + 1 WHERE id = OLD.event_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE events SET terms_version = terms_version + 1 WHERE id = NEW.event_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tiers_terms_version AFTER INSERT OR UPDATE OR DELETE ON tiers
FOR EACH ROW EXECUTE FUNCTION bump_terms_version();
CREATE TRIGGER seats_terms_version AFTER INSERT OR UPDATE OR DELETE ON seats
FOR EACH ROW EXECUTE FUNCTION bump_terms_version();

-- For tier_quotas, through the tier.
CREATE FUNCTION bump_terms_version_of_tier() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE events SET terms_version = terms_version + 1
        WHERE id = (SELECT event_id FROM tiers WHERE id = OLD.tier_id);
    ELSE
        UPDATE events SET terms_version = terms_version + 1
        WHERE id = (SELECT event_id FROM tiers WHERE id = NEW.tier_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tier_quotas_terms_version AFTER INSERT OR DELETE ON tier_quotas
FOR EACH ROW EXECUTE FUNCTION bump_terms_version_of_tier();
