ALTER TABLE outbox DROP COLUMN seq;
ALTER TABLE outbox DROP COLUMN contract_id;
ALTER TABLE outbox DROP COLUMN tenant;
ALTER TABLE contracts DROP COLUMN fact_seq;
ALTER TABLE contracts DROP COLUMN fetched_at;
