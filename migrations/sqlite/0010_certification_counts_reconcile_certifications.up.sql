-- Unconfirmed and pending certifications are counted on every overview
-- and metrics scrape (qyshook_certifications): led by the flag, these
-- indexes let a count seek to those rows and read them alone, never the
-- whole table (docs/ledger.md).
CREATE INDEX certifications_unconfirmed ON certifications (confirmed, tenant);
CREATE INDEX certifications_pending_count ON certifications (pending, tenant);
-- A reconcile run records the certifications it polled (docs/ledger.md):
--   certifications_checked      pending certifications the API confirmed a state for
--   certifications_unconfirmed  those it could not confirm
--   unconfirmed_certifications  their request ids (JSON array, the first 100)
ALTER TABLE reconcile_runs ADD COLUMN certifications_checked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reconcile_runs ADD COLUMN certifications_unconfirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reconcile_runs ADD COLUMN unconfirmed_certifications TEXT NOT NULL DEFAULT '[]';
