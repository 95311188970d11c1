ALTER TABLE documents DROP COLUMN verify_problem;
ALTER TABLE documents DROP COLUMN verified_at;
ALTER TABLE documents DROP COLUMN verify_signatures;
ALTER TABLE documents DROP COLUMN verify_verdict;
DROP INDEX IF EXISTS certifications_pending;
ALTER TABLE certifications DROP COLUMN pending;
ALTER TABLE certifications DROP COLUMN detail;
ALTER TABLE certifications DROP COLUMN confirmed;
