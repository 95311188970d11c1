package sqlstore

import "database/sql"

// nullText is s as a text argument, NULL when it is empty (the trace
// columns of migration 0015: events.trace_id, outbox.traceparent).
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
