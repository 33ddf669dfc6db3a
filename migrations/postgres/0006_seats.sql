-- Seat maps: an event's seats, laid out in sections and rows.
-- Paired with ../sqlite/0006_seats.sql.
CREATE TABLE seats (
    id        TEXT PRIMARY KEY,
    event_id  TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    section   TEXT NOT NULL,                       -- e.g. "Balcony"
    row_label TEXT NOT NULL,                       -- e.g. "C"
    number    BIGINT NOT NULL CHECK (number >= 1), -- seat number within the row
    kind      TEXT NOT NULL DEFAULT 'standard' CHECK (kind IN ('standard', 'wheelchair', 'companion')),
    blocked   BOOLEAN NOT NULL DEFAULT FALSE,      -- never sold (e.g. a pillar, the sound desk)
    tier_id   TEXT REFERENCES tiers (id) ON DELETE SET NULL,  -- the tier this seat sells as
    position  BIGINT NOT NULL DEFAULT 0,           -- order within the map (rows, then seats)
    UNIQUE (event_id, section, row_label, number)
);
CREATE INDEX seats_event_idx ON seats (event_id, position);
