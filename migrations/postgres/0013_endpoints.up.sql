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
    id              text PRIMARY KEY,
    tenant          text NOT NULL,
    url             text NOT NULL,
    description     text NOT NULL DEFAULT '',
    types           text NOT NULL DEFAULT '[]',
    secrets         text NOT NULL DEFAULT '[]',
    headers         text NOT NULL DEFAULT '{}',
    rate_limit      double precision NOT NULL DEFAULT 0,
    concurrency     integer NOT NULL DEFAULT 4,
    ordered         integer NOT NULL DEFAULT 0,
    allow_private   integer NOT NULL DEFAULT 0,
    allow_http      integer NOT NULL DEFAULT 0,
    enabled         integer NOT NULL DEFAULT 1,
    disabled_reason text NOT NULL DEFAULT '',
    disabled_at     timestamptz,
    source          text NOT NULL DEFAULT 'api',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    failing_since   timestamptz,
    warned_at       timestamptz,
    last_success_at timestamptz
);
CREATE INDEX endpoints_tenant ON endpoints (tenant);

-- endpoint_attempts: every delivery attempt (kept QYSHOOK_DELIVERY_ATTEMPT_RETENTION).
--   status      the HTTP status, 0 when no answer came (error says why)
--   response    the start of the answer's body (1 KiB)
--   next_attempt_at  when the next attempt is due (NULL: delivered,
--               dead-lettered or disabled)
CREATE TABLE endpoint_attempts (
    id              bigserial PRIMARY KEY,
    endpoint_id     text NOT NULL,
    fact_id         text NOT NULL,
    attempt         integer NOT NULL,
    at              timestamptz NOT NULL,
    status          integer NOT NULL DEFAULT 0,
    latency_ms      integer NOT NULL DEFAULT 0,
    response        text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    next_attempt_at timestamptz
);
CREATE INDEX endpoint_attempts_endpoint ON endpoint_attempts (endpoint_id, id);
CREATE INDEX endpoint_attempts_fact ON endpoint_attempts (endpoint_id, fact_id);
CREATE INDEX endpoint_attempts_at ON endpoint_attempts (at);

-- endpoint_dead_letters: deliveries that exhausted the retry schedule,
-- per endpoint, with the fact as it was to be sent.
CREATE TABLE endpoint_dead_letters (
    endpoint_id text NOT NULL,
    fact_id     text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    attempts    integer NOT NULL,
    last_error  text NOT NULL DEFAULT '',
    failed_at   timestamptz NOT NULL,
    PRIMARY KEY (endpoint_id, fact_id)
);

-- delivery_cursors: how far the delivery fan-out has read QYS_LEDGER (the
-- stream sequence of the last fact queued for the endpoints).
CREATE TABLE delivery_cursors (
    name       text PRIMARY KEY,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
