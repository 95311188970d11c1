DROP INDEX IF EXISTS documents_due;
ALTER TABLE documents
    DROP COLUMN lease_until,
    DROP COLUMN lease_owner,
    DROP COLUMN last_attempt_at,
    DROP COLUMN next_attempt_at,
    DROP COLUMN last_error,
    DROP COLUMN attempts,
    DROP COLUMN archive_state;
