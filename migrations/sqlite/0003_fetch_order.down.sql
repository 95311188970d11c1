ALTER TABLE outbox DROP COLUMN seq;
ALTER TABLE outbox DROP COLUMN contract_id;
ALTER TABLE outbox DROP COLUMN tenant;
ALTER TABLE contracts DROP COLUMN fact_seq;
ALTER TABLE contracts DROP COLUMN fetch_ended_at;
ALTER TABLE contracts DROP COLUMN fetched_at;
