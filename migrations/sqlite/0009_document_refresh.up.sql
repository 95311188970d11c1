-- A document can be fetched again after it was archived (the operation
-- log, <contractID>.oplog, once a later state of its contract is
-- committed: a void, a forced end):
--   generation  raised each time the row is queued again that way; an
--               archiver records its fetch only while the row still has
--               the generation it claimed, so a fetch begun before the
--               later state can never be recorded as the latest.
-- document_versions keeps every content a document was archived with
-- (the row names the latest; the files are content-addressed and stay).
ALTER TABLE documents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
CREATE TABLE document_versions (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    size        INTEGER NOT NULL,
    path        TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, id, sha256)
);
-- Documents archived before this migration: their one known version.
INSERT INTO document_versions (tenant, id, sha256, contract_id, size, path, fetched_at)
    SELECT tenant, id, sha256, contract_id, size, path, fetched_at FROM documents
    WHERE archive_state = 'archived' AND sha256 <> '' AND fetched_at IS NOT NULL;
