-- qyshook ledger, SQLite flavour. Timestamps are UTC TEXT in the fixed-width
-- RFC 3339 form 2006-01-02T15:04:05.000000Z (microseconds), so they sort and
-- compare as text; booleans are INTEGER 0/1; JSON is TEXT.

-- events: every event applied to the ledger, recorded in the same
-- transaction as its effects. The primary key makes redelivery a no-op.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,          -- event id (the NATS Nats-Msg-Id)
    tenant      TEXT NOT NULL,             -- tenant name, e.g. default
    kind        TEXT NOT NULL,             -- contract, auth.personal, auth.company
    type        TEXT NOT NULL,             -- 契约锁 callbackType, or RECONCILE
    contract_id TEXT NOT NULL DEFAULT '',  -- contract id ('' for certifications)
    source      TEXT NOT NULL DEFAULT '',  -- callback, reconcile, ingest
    received_at TEXT NOT NULL,             -- when qyshook received it
    applied_at  TEXT NOT NULL,             -- when the ledger applied it
    payload     TEXT                       -- the event JSON
);
CREATE INDEX events_contract ON events (tenant, contract_id, applied_at);

-- contracts: the latest known state of each contract. status never moves
-- backwards (see store.Advances); confirmed = 1 when the status came from
-- /v2/contract/detail rather than from a callback.
CREATE TABLE contracts (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,              -- 契约锁 contract id
    biz_id       TEXT NOT NULL DEFAULT '',   -- caller's business id
    subject      TEXT NOT NULL DEFAULT '',   -- contract title
    status       TEXT NOT NULL,              -- DRAFT, SIGNING, COMPLETE, ...
    confirmed    INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    signed_count INTEGER NOT NULL DEFAULT 0, -- signatories done (progress)
    updated_at   TEXT NOT NULL,              -- last change of this row
    completed_at TEXT,                       -- when it reached COMPLETE
    detail       TEXT,                       -- detail JSON as the API sent it
    PRIMARY KEY (tenant, id)
);
CREATE INDEX contracts_status ON contracts (tenant, status, updated_at);

-- signatories: the parties of a contract, replaced on every change.
CREATE TABLE signatories (
    tenant      TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    id          TEXT NOT NULL,              -- signatory id
    tenant_type TEXT NOT NULL DEFAULT '',   -- COMPANY or PERSONAL
    tenant_name TEXT NOT NULL DEFAULT '',   -- company or person name
    status      TEXT NOT NULL DEFAULT '',   -- signatory status
    serial_no   INTEGER NOT NULL DEFAULT 0, -- signing order
    PRIMARY KEY (tenant, contract_id, id),
    FOREIGN KEY (tenant, contract_id) REFERENCES contracts (tenant, id) ON DELETE CASCADE
);

-- documents: the documents of a contract. sha256, size, path and
-- fetched_at are set once the signed file is archived under the data dir.
CREATE TABLE documents (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,             -- 契约锁 document id
    contract_id TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    sha256      TEXT NOT NULL DEFAULT '',  -- hex SHA-256 of the archived file
    size        INTEGER NOT NULL DEFAULT 0,-- bytes of the archived file
    path        TEXT NOT NULL DEFAULT '',  -- relative to the data dir
    fetched_at  TEXT,                      -- NULL until archived
    PRIMARY KEY (tenant, id)
);
CREATE INDEX documents_contract ON documents (tenant, contract_id);

-- certifications: real-name certifications of persons and companies. A
-- successful one is never downgraded by a later event.
CREATE TABLE certifications (
    tenant      TEXT NOT NULL,
    request_id  TEXT NOT NULL,             -- 契约锁 certification request id
    kind        TEXT NOT NULL,             -- personal or company
    status      TEXT NOT NULL DEFAULT '',
    success     INTEGER NOT NULL DEFAULT 0 CHECK (success IN (0, 1)),
    mode        TEXT NOT NULL DEFAULT '',  -- certification mode
    name        TEXT NOT NULL DEFAULT '',  -- person or company name
    fail_reason TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, request_id)
);

-- dead_letters: events the dispatcher could not apply, for replay.
CREATE TABLE dead_letters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL DEFAULT '',
    tenant     TEXT NOT NULL DEFAULT '',
    consumer   TEXT NOT NULL DEFAULT '',   -- durable consumer name
    subject    TEXT NOT NULL DEFAULT '',   -- NATS subject of the message
    stream_seq INTEGER NOT NULL DEFAULT 0, -- stream sequence of the message
    reason     TEXT NOT NULL DEFAULT '',
    deliveries INTEGER NOT NULL DEFAULT 0,
    payload    BLOB,                       -- the message data, verbatim
    created_at TEXT NOT NULL
);

-- outbox: facts for QYS_LEDGER, written with the change they describe and
-- published by the relay with Nats-Msg-Id = id.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,         -- fact id
    subject      TEXT NOT NULL,            -- qys.ledger.<tenant>....
    payload      BLOB,                     -- message data
    created_at   TEXT NOT NULL,
    published_at TEXT                      -- NULL until published
);
CREATE INDEX outbox_unpublished ON outbox (created_at, id) WHERE published_at IS NULL;
