-- audit: every write of the admin API (who, when, which route, the
-- selector, how many rows or events it touched, and how it ended).
--   who       the token's role and a fingerprint of it (never the token)
--   action    the route, e.g. "POST /dead-letters/{id}/retry"
--   selector  the request's selector as JSON ('{}' when none)
--   count     how many dead letters, events… it acted on
--   outcome   ok, accepted (a background job started), or the error
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    who       TEXT NOT NULL,
    action    TEXT NOT NULL,
    selector  TEXT NOT NULL DEFAULT '{}',
    count     INTEGER NOT NULL DEFAULT 0,
    outcome   TEXT NOT NULL DEFAULT '',
    job_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);

-- reconcile_runs: one row per reconcile pass started from the admin API
-- (POST /reconcile), with what it did once it ends.
CREATE TABLE reconcile_runs (
    id           TEXT PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    started_by   TEXT NOT NULL DEFAULT '',
    since        TEXT,
    checked      INTEGER NOT NULL DEFAULT 0,
    triggered    INTEGER NOT NULL DEFAULT 0,
    requeued     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_at);
