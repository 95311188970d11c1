-- log_checkpoints: the receipt log's signed checkpoints (docs/ledger.md,
-- docs/evidence.md), one per tree size, written by the anchor stage with
-- the checkpoint facts in the same transaction.
--   size        the tree size (leaves) the checkpoint commits to
--   root        the tree's root hash, hex
--   note        the signed checkpoint (a sumdb note), as signed
--   origin      the log's name (the note's first line)
--   key_id      the signing key's note key hash (8 hex digits)
--   created_at  when it was signed
--   stamps      how many stamps log_stamps holds for it (0: unanchored)
CREATE TABLE log_checkpoints (
    size        INTEGER PRIMARY KEY,
    root        TEXT NOT NULL,
    note        BLOB NOT NULL,
    origin      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    stamps      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX log_checkpoints_created ON log_checkpoints (created_at);
CREATE INDEX log_checkpoints_unanchored ON log_checkpoints (size) WHERE stamps = 0;

-- log_stamps: RFC 3161 time-stamp tokens over a checkpoint's note, one
-- per authority that answered.
--   size        the checkpoint (log_checkpoints.size)
--   tsa_url     the authority asked
--   token       the TimeStampToken (CMS SignedData, DER)
--   certs       the certificates it came with, PEM, signer first
--   gen_time    the authority's time in the token
--   serial      the token's serial number (decimal)
--   stamped_at  when qyshook stored it
CREATE TABLE log_stamps (
    size        INTEGER NOT NULL REFERENCES log_checkpoints (size),
    tsa_url     TEXT NOT NULL,
    token       BLOB NOT NULL,
    certs       TEXT NOT NULL DEFAULT '',
    gen_time    TEXT NOT NULL,
    serial      TEXT NOT NULL DEFAULT '',
    stamped_at  TEXT NOT NULL,
    PRIMARY KEY (size, tsa_url)
);
