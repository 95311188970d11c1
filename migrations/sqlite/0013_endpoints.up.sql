-- endpoints: HTTP endpoints facts are delivered to, signed the Standard
-- Webhooks way (docs/delivery.md).
--   types      JSON array of fact filters (subject patterns below
--              qys.ledger.<tenant>., e.g. "contract.COMPLETE"); [] = all
--   secrets    JSON array of {secret, created_at, expires_at}: every
--              unexpired secret signs (rotation overlap)
--   headers    JSON object of extra request headers
--   enabled    1 while facts are delivered; facts for a disabled endpoint
--              wait in QYS_DELIVERY until it is enabled again
--   failing_since, warned_at  health: the first failure since the last
--              success, and when the auto-disable warning was published
CREATE TABLE endpoints (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    types           TEXT NOT NULL DEFAULT '[]',
    secrets         TEXT NOT NULL DEFAULT '[]',
    headers         TEXT NOT NULL DEFAULT '{}',
    rate_limit      REAL NOT NULL DEFAULT 0,
    concurrency     INTEGER NOT NULL DEFAULT 4,
    ordered         INTEGER NOT NULL DEFAULT 0,
    allow_private   INTEGER NOT NULL DEFAULT 0,
    allow_http      INTEGER NOT NULL DEFAULT 0,
    enabled         INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at     TEXT,
    source          TEXT NOT NULL DEFAULT 'api',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    failing_since   TEXT,
    warned_at       TEXT,
    last_success_at TEXT
);
CREATE INDEX endpoints_tenant ON endpoints (tenant);

-- endpoint_attempts: every delivery attempt (kept QYSHOOK_DELIVERY_ATTEMPT_RETENTION).
--   status      the HTTP status, 0 when no answer came (error says why)
--   response    the start of the answer's body (1 KiB)
--   next_attempt_at  when the next attempt is due (NULL: delivered,
--               dead-lettered or disabled)
CREATE TABLE endpoint_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id     TEXT NOT NULL,
    fact_id         TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    at              TEXT NOT NULL,
    status          INTEGER NOT NULL DEFAULT 0,
    latency_ms      INTEGER NOT NULL DEFAULT 0,
    response        TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT
);
CREATE INDEX endpoint_attempts_endpoint ON endpoint_attempts (endpoint_id, id);
CREATE INDEX endpoint_attempts_fact ON endpoint_attempts (endpoint_id, fact_id);
CREATE INDEX endpoint_attempts_at ON endpoint_attempts (at);

-- endpoint_dead_letters: deliveries that exhausted the retry schedule,
-- per endpoint, with the fact as it was to be sent.
CREATE TABLE endpoint_dead_letters (
    endpoint_id TEXT NOT NULL,
    fact_id     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    failed_at   TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, fact_id)
);

-- delivery_cursors: how far the delivery fan-out has read QYS_LEDGER (the
-- stream sequence of the last fact queued for the endpoints).
CREATE TABLE delivery_cursors (
    name       TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
