-- syncjob schema, version 2. Append-only: never edit a released migration; add a new file.

-- A job's settings move out of the `state` JSON into their own column. Settings change
-- only by operator commands, the rest of the state at every commit: apart, a page commit
-- or a lease move no longer re-encodes the settings (a third of the JSON).
-- No default is meant to survive: every existing row is filled below, and the store
-- refuses a row whose settings do not parse.
ALTER TABLE jobs ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

UPDATE jobs
   SET settings = json_extract(state, '$.settings'),
       state    = json_remove(state, '$.settings');
