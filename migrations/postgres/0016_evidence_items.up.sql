-- Evidence kept beside an archived PDF (docs/evidence.md): the material
-- its signature verification rests on, fetched at archive time
-- (pdfverify.ValidationData: certificate chains, OCSP and CRL answers or
-- "unreachable"), stored content-addressed like the file.
--   validation_sha256, validation_path  the JSON file ('' when none:
--                                       not a PDF, no signature, or
--                                       archived before 0016)
--   validation_status                   the worst revocation status in it
--                                       (good, unknown, unreachable,
--                                       no-issuer, invalid, revoked)
-- document_versions keeps each version's own.
ALTER TABLE documents ADD COLUMN validation_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN validation_path TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN validation_status TEXT NOT NULL DEFAULT '';
ALTER TABLE document_versions ADD COLUMN validation_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE document_versions ADD COLUMN validation_path TEXT NOT NULL DEFAULT '';
-- The cross-source check of an archived PDF (package crosscheck): the
-- discrepancies between the contract's API detail and the PDF's
-- signatures, a JSON array of {kind, document, party, detail}; '' when
-- the PDF was not compared, '[]' when it was and agreed.
ALTER TABLE documents ADD COLUMN discrepancies TEXT NOT NULL DEFAULT '';
