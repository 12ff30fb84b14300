-- syncjob schema, version 1. Append-only: never edit a released migration; add a new file.

-- Marks the file as a syncjob database ('SJOB').
PRAGMA application_id = 1397378882;

-- One row per job. `state` is the JSON of `job::JobState`; the other columns are derived
-- from it at every commit so that the due-job query and listings need no JSON.
CREATE TABLE jobs (
    id                   TEXT PRIMARY KEY,
    service_principal_id TEXT NOT NULL,
    template_id          TEXT NOT NULL,
    version              INTEGER NOT NULL,
    code                 TEXT NOT NULL,
    due_at_ms            INTEGER,          -- NULL: nothing due (paused, disabled, not started)
    lease_holder         TEXT,
    lease_expires_ms     INTEGER,          -- NULL: no lease
    created_at           TEXT NOT NULL,
    state                TEXT NOT NULL
) STRICT;

-- The runners' query: due jobs, oldest first.
CREATE INDEX jobs_due ON jobs (due_at_ms) WHERE due_at_ms IS NOT NULL;
CREATE INDEX jobs_by_sp ON jobs (service_principal_id, id);

-- The audit log: one row per committed transition.
CREATE TABLE transitions (
    job_id      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    input       TEXT NOT NULL,
    code_before TEXT NOT NULL,
    code_after  TEXT NOT NULL,
    PRIMARY KEY (job_id, version)
) STRICT, WITHOUT ROWID;

-- The same-database target of the built-in templates (contract section 6).
CREATE TABLE target_entries (
    job_id      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    attributes  TEXT NOT NULL,           -- JSON
    deleted     INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (job_id, object_type, entry_id)
) STRICT, WITHOUT ROWID;
