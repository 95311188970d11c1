-- Indexes for every query qyshook makes as the ledger grows (docs/ledger.md,
-- "Queries and their indexes"; store/internal/sqlstore TestQueryPlans
-- explains each on a ledger of a million rows).
--   contracts_updated   listings in update order without a tenant or a
--                       status (qyshook verify, the admin console's
--                       newest-first page), and keyset pages of them
--   contracts_tenant_updated  one tenant's contracts in update order (the
--                       console filtered by tenant)
--   contracts_biz_id    GET /contracts?biz_id= (partial: contracts without
--                       one cost nothing)
--   events_applied      event retention (oldest first, in batches)
--   outbox_published    pruning published facts
--   dead_letters_event  retention keeps the events a dead letter names
-- Deliberately no index on contracts (id) alone: with it, `qyshook bench
-- dispatcher` on a grown SQLite ledger wrote about three times the pages and
-- ran at half the pace; GET /contracts?id= without a tenant probes the
-- primary key once per tenant instead.
CREATE INDEX IF NOT EXISTS contracts_updated ON contracts (updated_at, tenant, id);
CREATE INDEX IF NOT EXISTS contracts_tenant_updated ON contracts (tenant, updated_at, id);
CREATE INDEX IF NOT EXISTS contracts_biz_id ON contracts (biz_id) WHERE biz_id <> '';
CREATE INDEX IF NOT EXISTS events_applied ON events (applied_at);
CREATE INDEX IF NOT EXISTS outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS dead_letters_event ON dead_letters (event_id);

-- Plain CREATE INDEX (golang-migrate sends each file as one multi-statement
-- query: one implicit transaction) locks a table against writes while it
-- builds: on a big ledger stop the dispatchers for the upgrade, or build the
-- same indexes beforehand with CREATE INDEX CONCURRENTLY under these names
-- (IF NOT EXISTS is then a no-op).
