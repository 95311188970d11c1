DROP INDEX IF EXISTS documents_due;
ALTER TABLE documents DROP COLUMN lease_until;
ALTER TABLE documents DROP COLUMN lease_owner;
ALTER TABLE documents DROP COLUMN last_attempt_at;
ALTER TABLE documents DROP COLUMN next_attempt_at;
ALTER TABLE documents DROP COLUMN last_error;
ALTER TABLE documents DROP COLUMN attempts;
ALTER TABLE documents DROP COLUMN archive_state;
