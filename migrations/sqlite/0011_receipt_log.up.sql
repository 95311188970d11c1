-- The receipt log (package receiptlog; docs/ledger.md, docs/evidence.md):
-- an append-only RFC 6962 Merkle tree with one leaf per event applied,
-- contract or certification change, archived file, fact, audit row, dead
-- letter and retention deletion, written in the same transaction as the
-- change it records. Retention never deletes from these tables.
--   log_leaves  the leaves in log order: idx (0, 1, 2… without gaps), what
--               the leaf describes (kind, tenant, ref) and its canonical
--               bytes (receiptlog.Leaf; the tree hashes these bytes).
--   log_hashes  tlog's stored hashes (tlog.StoredHashIndex numbering):
--               what inclusion and consistency proofs are read from.
--   log_head    one row: the tree size, its root hash and its right edge
--               (the frontier an append needs); a commit appending leaves
--               locks it, so commits append one after the other.
--   log_pruned  rows retention (or a dead-letter purge) deleted, with the
--               prune leaf that records it: verify --log tells a row
--               deleted that way from one deleted behind qyshook's back.
CREATE TABLE log_leaves (
    idx    INTEGER PRIMARY KEY,
    kind   TEXT NOT NULL,
    tenant TEXT NOT NULL,
    ref    TEXT NOT NULL,
    leaf   TEXT NOT NULL
);
CREATE INDEX log_leaves_ref ON log_leaves (kind, tenant, ref, idx);
CREATE TABLE log_hashes (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);
CREATE TABLE log_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    size       INTEGER NOT NULL,
    root       BLOB NOT NULL,
    frontier   BLOB NOT NULL,
    backfilled INTEGER NOT NULL DEFAULT 0 CHECK (backfilled IN (0, 1)),
    updated_at TEXT NOT NULL
);
INSERT INTO log_head (id, size, root, frontier, updated_at) VALUES (1, 0, X'', X'', '1970-01-01T00:00:00.000000Z');
CREATE TABLE log_pruned (
    kind     TEXT NOT NULL,
    tenant   TEXT NOT NULL,
    ref      TEXT NOT NULL,
    leaf_idx INTEGER NOT NULL,
    PRIMARY KEY (kind, tenant, ref)
);
CREATE INDEX log_pruned_leaf ON log_pruned (leaf_idx);
