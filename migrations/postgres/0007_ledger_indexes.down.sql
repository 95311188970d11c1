DROP INDEX IF EXISTS dead_letters_event;
DROP INDEX IF EXISTS outbox_published;
DROP INDEX IF EXISTS events_applied;
DROP INDEX IF EXISTS contracts_biz_id;
DROP INDEX IF EXISTS contracts_tenant_updated;
DROP INDEX IF EXISTS contracts_updated;
