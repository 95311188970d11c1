ALTER TABLE reconcile_runs DROP COLUMN unconfirmed_certifications;
ALTER TABLE reconcile_runs DROP COLUMN certifications_unconfirmed;
ALTER TABLE reconcile_runs DROP COLUMN certifications_checked;
DROP INDEX IF EXISTS certifications_pending_count;
DROP INDEX IF EXISTS certifications_unconfirmed;
