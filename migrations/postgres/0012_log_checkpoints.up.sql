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
    size        bigint PRIMARY KEY,
    root        text NOT NULL,
    note        bytea NOT NULL,
    origin      text NOT NULL,
    key_id      text NOT NULL,
    stamps      integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
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
    size        bigint NOT NULL REFERENCES log_checkpoints (size),
    tsa_url     text NOT NULL,
    token       bytea NOT NULL,
    certs       text NOT NULL DEFAULT '',
    gen_time    timestamptz NOT NULL,
    serial      text NOT NULL DEFAULT '',
    stamped_at  timestamptz NOT NULL,
    PRIMARY KEY (size, tsa_url)
);
