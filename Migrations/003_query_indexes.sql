-- Indexes for the query commands (reads, key, keys, trails, objects, usage, denied).

-- Calls of one operation over time: lifecycle events, deliveries (usage), decrypts.
CREATE INDEX events_name_time ON events(event_name, event_time);

-- Failed calls (denied, failures of a key): few among many, so a partial index.
CREATE INDEX events_error ON events(error_code, event_time) WHERE error_code IS NOT NULL;

-- Events of one trail (trails, objects --trail).
CREATE INDEX events_trail ON events(trail_id, event_time) WHERE trail_id IS NOT NULL;
