-- Certifications carry the state they were read as and, when unconfirmed,
-- why (docs/ledger.md):
--   state   the lifecycle state (NOT_SUBMITTED, NOT_CERTIFIED, IN_PROGRESS,
--           REVIEW, FAILED, SUCCESS, EXPIRED, INVALID); the certification-
--           result API's codes differ from the callback's, so status alone
--           no longer tells it. '' on rows written before this migration
--           (their state is derived from status as before).
--   reason  why a row is unconfirmed: no_api, not_found,
--           unrecognized_result; '' when confirmed
--   answer  the certification-result API's answer (result object) as sent
--           when it did not confirm the row (unrecognized_result), else NULL
ALTER TABLE certifications ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE certifications ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE certifications ADD COLUMN answer TEXT;
