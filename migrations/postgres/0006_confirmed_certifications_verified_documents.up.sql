-- Certifications are confirmed through the certification-result API
-- (/companyauth/result, /v2/personalauth/result) like contracts through
-- the detail:
--   confirmed  true when the row holds the API's answer, false when it
--              holds a callback's word (no API credentials, or the API
--              does not know the request)
--   detail     the API's result object as sent (or the callback payload)
--   pending    true while the reconciler must poll it (unconfirmed, or
--              confirmed in progress or in review; see lifecycle.CertPending)
-- Rows written before this migration were taken on the callback's word.
ALTER TABLE certifications
    ADD COLUMN confirmed boolean NOT NULL DEFAULT false,
    ADD COLUMN detail json,
    ADD COLUMN pending boolean NOT NULL DEFAULT true;
CREATE INDEX certifications_pending ON certifications (tenant, pending, updated_at);

-- Each archived PDF is verified when the archiver stores it (package
-- pdfverify):
--   verify_verdict     '' (not verified: not a PDF, or archived before),
--                      valid, invalid or no-signatures
--   verify_signatures  embedded signatures found
--   verified_at        when it was verified
--   verify_problem     why it is not valid ('' when valid), and the
--                      online (/v2/verify) verdict when it disagrees
ALTER TABLE documents
    ADD COLUMN verify_verdict text NOT NULL DEFAULT '',
    ADD COLUMN verify_signatures integer NOT NULL DEFAULT 0,
    ADD COLUMN verified_at timestamptz,
    ADD COLUMN verify_problem text NOT NULL DEFAULT '';
