-- The documents table is also the archive queue: the dispatcher queues the
-- documents of a contract it commits in a signed status (archive_state
-- 'pending', in the same transaction), and the archiver stage claims due
-- rows under a lease (FOR UPDATE SKIP LOCKED), downloads them and records
-- the outcome.
--   archive_state    '' (not queued: the contract is not signed), pending,
--                    archived or failed (permanent, or out of attempts)
--   attempts         downloads tried since the row was (re)queued
--   last_error       the last failure, '' after a success
--   next_attempt_at  when a pending row is next due
--   last_attempt_at  when the row was last tried
--   lease_owner      the archiver instance working the row, '' when none
--   lease_until      when that lease ends; another instance may then take it
ALTER TABLE documents
    ADD COLUMN archive_state text NOT NULL DEFAULT ''
        CHECK (archive_state IN ('', 'pending', 'archived', 'failed')),
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text NOT NULL DEFAULT '',
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_attempt_at timestamptz,
    ADD COLUMN lease_owner text NOT NULL DEFAULT '',
    ADD COLUMN lease_until timestamptz;

UPDATE documents SET archive_state = 'archived' WHERE sha256 <> '';
UPDATE documents SET archive_state = 'pending', next_attempt_at = now()
WHERE sha256 = '' AND EXISTS (SELECT 1 FROM contracts c
    WHERE c.tenant = documents.tenant AND c.id = documents.contract_id
    AND c.status IN ('COMPLETE', 'INVALIDING', 'INVALIDED', 'TERMINATING', 'TERMINATED'));

CREATE INDEX documents_due ON documents (archive_state, next_attempt_at);
