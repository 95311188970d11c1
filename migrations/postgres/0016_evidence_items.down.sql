ALTER TABLE documents DROP COLUMN discrepancies;
ALTER TABLE document_versions DROP COLUMN validation_path;
ALTER TABLE document_versions DROP COLUMN validation_sha256;
ALTER TABLE documents DROP COLUMN validation_status;
ALTER TABLE documents DROP COLUMN validation_path;
ALTER TABLE documents DROP COLUMN validation_sha256;
