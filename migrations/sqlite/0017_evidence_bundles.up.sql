-- The evidence bundles (package bundler; docs/evidence.md): one row per
-- version of a contract's bundle, a zip under the data dir. A later state
-- of the contract makes a new version; the old ones are kept.
--   ref              "<contract_id>/v<version>": the row's receipt-log ref
--   state            the contract's status the bundle was built over
--   contract_leaf    the contract row's latest leaf it covers
--   checkpoint_size  the tree size of the checkpoint its proofs are in
--   sha256, size     the zip file; path is relative to the data dir
--   items            how many items it holds
--   discrepancies    how many discrepancies its summary records
CREATE TABLE evidence_bundles (
    tenant          TEXT NOT NULL,
    contract_id     TEXT NOT NULL,
    version         INTEGER NOT NULL,
    ref             TEXT NOT NULL,
    state           TEXT NOT NULL,
    contract_leaf   INTEGER NOT NULL,
    checkpoint_size INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    path            TEXT NOT NULL,
    items           INTEGER NOT NULL,
    discrepancies   INTEGER NOT NULL,
    built_at        TEXT NOT NULL,
    PRIMARY KEY (tenant, contract_id, version),
    UNIQUE (tenant, ref)
);
