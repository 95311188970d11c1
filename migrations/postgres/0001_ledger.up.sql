-- qyshook ledger, PostgreSQL flavour. Timestamps are timestamptz (UTC,
-- microseconds); JSON is json, kept verbatim as the API sent it.

-- events: every event applied to the ledger, recorded in the same
-- transaction as its effects. The primary key makes redelivery a no-op.
CREATE TABLE events (
    id          text PRIMARY KEY,          -- event id (the NATS Nats-Msg-Id)
    tenant      text NOT NULL,             -- tenant name, e.g. default
    kind        text NOT NULL,             -- contract, auth.personal, auth.company
    type        text NOT NULL,             -- 契约锁 callbackType, or RECONCILE
    contract_id text NOT NULL DEFAULT '',  -- contract id ('' for certifications)
    source      text NOT NULL DEFAULT '',  -- callback, reconcile, ingest
    received_at timestamptz NOT NULL,      -- when qyshook received it
    applied_at  timestamptz NOT NULL,      -- when the ledger applied it
    payload     json                       -- the event JSON
);
CREATE INDEX events_contract ON events (tenant, contract_id, applied_at);

-- contracts: the latest known state of each contract. status never moves
-- backwards (see store.Advances); confirmed = true when the status came from
-- /v2/contract/detail rather than from a callback.
CREATE TABLE contracts (
    tenant       text NOT NULL,
    id           text NOT NULL,              -- 契约锁 contract id
    biz_id       text NOT NULL DEFAULT '',   -- caller's business id
    subject      text NOT NULL DEFAULT '',   -- contract title
    status       text NOT NULL,              -- DRAFT, SIGNING, COMPLETE, ...
    confirmed    boolean NOT NULL DEFAULT false,
    signed_count integer NOT NULL DEFAULT 0, -- signatories done (progress)
    updated_at   timestamptz NOT NULL,       -- last change of this row
    completed_at timestamptz,                -- when it reached COMPLETE
    detail       json,                       -- detail JSON as the API sent it
    PRIMARY KEY (tenant, id)
);
CREATE INDEX contracts_status ON contracts (tenant, status, updated_at);

-- signatories: the parties of a contract, replaced on every change.
CREATE TABLE signatories (
    tenant      text NOT NULL,
    contract_id text NOT NULL,
    id          text NOT NULL,              -- signatory id
    tenant_type text NOT NULL DEFAULT '',   -- COMPANY or PERSONAL
    tenant_name text NOT NULL DEFAULT '',   -- company or person name
    status      text NOT NULL DEFAULT '',   -- signatory status
    serial_no   integer NOT NULL DEFAULT 0, -- signing order
    PRIMARY KEY (tenant, contract_id, id),
    FOREIGN KEY (tenant, contract_id) REFERENCES contracts (tenant, id) ON DELETE CASCADE
);

-- documents: the documents of a contract. sha256, size, path and
-- fetched_at are set once the signed file is archived under the data dir.
CREATE TABLE documents (
    tenant      text NOT NULL,
    id          text NOT NULL,             -- 契约锁 document id
    contract_id text NOT NULL,
    title       text NOT NULL DEFAULT '',
    sha256      text NOT NULL DEFAULT '',  -- hex SHA-256 of the archived file
    size        bigint NOT NULL DEFAULT 0, -- bytes of the archived file
    path        text NOT NULL DEFAULT '',  -- relative to the data dir
    fetched_at  timestamptz,               -- NULL until archived
    PRIMARY KEY (tenant, id)
);
CREATE INDEX documents_contract ON documents (tenant, contract_id);

-- certifications: real-name certifications of persons and companies. A
-- successful one is never downgraded by a later event.
CREATE TABLE certifications (
    tenant      text NOT NULL,
    request_id  text NOT NULL,             -- 契约锁 certification request id
    kind        text NOT NULL,             -- personal or company
    status      text NOT NULL DEFAULT '',
    success     boolean NOT NULL DEFAULT false,
    mode        text NOT NULL DEFAULT '',  -- certification mode
    name        text NOT NULL DEFAULT '',  -- person or company name
    fail_reason text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, request_id)
);

-- dead_letters: events the dispatcher could not apply, for replay.
CREATE TABLE dead_letters (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   text NOT NULL DEFAULT '',
    tenant     text NOT NULL DEFAULT '',
    consumer   text NOT NULL DEFAULT '',   -- durable consumer name
    subject    text NOT NULL DEFAULT '',   -- NATS subject of the message
    stream_seq bigint NOT NULL DEFAULT 0,  -- stream sequence of the message
    reason     text NOT NULL DEFAULT '',
    deliveries integer NOT NULL DEFAULT 0,
    payload    bytea,                      -- the message data, verbatim
    created_at timestamptz NOT NULL
);

-- outbox: facts for QYS_LEDGER, written with the change they describe and
-- published by the relay with Nats-Msg-Id = id.
CREATE TABLE outbox (
    id           text PRIMARY KEY,         -- fact id
    subject      text NOT NULL,            -- qys.ledger.<tenant>....
    payload      bytea,                    -- message data
    created_at   timestamptz NOT NULL,
    published_at timestamptz               -- NULL until published
);
CREATE INDEX outbox_unpublished ON outbox (created_at, id) WHERE published_at IS NULL;
