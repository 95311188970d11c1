DROP TABLE IF EXISTS document_versions;
ALTER TABLE documents DROP COLUMN generation;
