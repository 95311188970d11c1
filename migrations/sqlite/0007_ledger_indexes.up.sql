-- Indexes for every query qyshook makes as the ledger grows (docs/ledger.md,
-- "Queries and their indexes"; store/internal/sqlstore TestQueryPlans
-- explains each on a ledger of a million rows).
--   contracts_updated   listings in update order without a tenant or a
--                       status (qyshook verify, the admin console's
--                       newest-first page), and keyset pages of them
--   contracts_id        GET /contracts?id= without a tenant
--   contracts_biz_id    GET /contracts?biz_id=
--   events_applied      event retention (oldest first, in batches)
--   outbox_published    pruning published facts
--   dead_letters_event  retention keeps the events a dead letter names
CREATE INDEX contracts_updated ON contracts (updated_at, tenant, id);
CREATE INDEX contracts_id ON contracts (id);
CREATE INDEX contracts_biz_id ON contracts (biz_id);
CREATE INDEX events_applied ON events (applied_at);
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX dead_letters_event ON dead_letters (event_id);
