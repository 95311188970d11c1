ALTER TABLE documents
    DROP COLUMN verify_problem,
    DROP COLUMN verified_at,
    DROP COLUMN verify_signatures,
    DROP COLUMN verify_verdict;
DROP INDEX IF EXISTS certifications_pending;
ALTER TABLE certifications
    DROP COLUMN pending,
    DROP COLUMN detail,
    DROP COLUMN confirmed;
