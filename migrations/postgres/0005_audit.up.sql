-- audit: every write of the admin API (who, when, which route, the
-- selector, how many rows or events it touched, and how it ended).
--   who       the token's role and a fingerprint of it (never the token)
--   action    the route, e.g. "POST /dead-letters/{id}/retry"
--   selector  the request's selector as JSON ('{}' when none)
--   count     how many dead letters, events… it acted on
--   outcome   ok, accepted (a background job started), or the error
CREATE TABLE audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,
    who       text NOT NULL,
    action    text NOT NULL,
    selector  text NOT NULL DEFAULT '{}',
    count     bigint NOT NULL DEFAULT 0,
    outcome   text NOT NULL DEFAULT '',
    job_id    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);

-- reconcile_runs: one row per reconcile pass started from the admin API
-- (POST /reconcile), with what it did once it ends.
CREATE TABLE reconcile_runs (
    id           text PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    started_by   text NOT NULL DEFAULT '',
    since        timestamptz,
    checked      bigint NOT NULL DEFAULT 0,
    triggered    bigint NOT NULL DEFAULT 0,
    requeued     bigint NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT ''
);
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_at);
