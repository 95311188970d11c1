-- contracts.fetched_at, fetch_ended_at: when the detail fetch behind the
-- row began and ended (the newest fetch applied to or confirming it; NULL
-- when unknown). Fetches order two views only when one ended before the
-- other began (store.Advances).
-- contracts.fact_seq: the sequence number of the contract's last fact.
ALTER TABLE contracts ADD COLUMN fetched_at TEXT;
ALTER TABLE contracts ADD COLUMN fetch_ended_at TEXT;
ALTER TABLE contracts ADD COLUMN fact_seq INTEGER NOT NULL DEFAULT 0;

-- outbox: the contract a fact is about and its number among that
-- contract's facts (1, 2, …; 0 for a fact about no contract).
ALTER TABLE outbox ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN contract_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
