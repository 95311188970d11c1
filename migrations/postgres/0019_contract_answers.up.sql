-- The API answers that confirmed a contract's states (docs/ledger.md): the
-- /v2/contract/detail answer a confirmed contract row was written with,
-- kept by its SHA-256 (the body_sha256 of the row's receipt-log leaf)
-- after the row's detail is overwritten by a later state. Insert-only,
-- written in the same transaction as the row.
--   sha256    hex SHA-256 of answer, the bytes exactly as stored in detail
--   answer    the answer, byte for byte
--   first_at  when the ledger first kept it
CREATE TABLE contract_answers (
    tenant      text NOT NULL,
    contract_id text NOT NULL,
    sha256      text NOT NULL,
    answer      text NOT NULL,
    first_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, contract_id, sha256)
);

-- Confirmed contracts written before this migration: their current answer.
-- Earlier answers were overwritten and are not kept.
INSERT INTO contract_answers (tenant, contract_id, sha256, answer, first_at)
SELECT tenant, id, encode(sha256(convert_to(detail::text, 'UTF8')), 'hex'), detail::text, updated_at
FROM contracts WHERE confirmed = true AND detail IS NOT NULL
ON CONFLICT DO NOTHING;
