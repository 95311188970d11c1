package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// nullText is s as a text argument, NULL when it is empty (the trace
// columns of migration 0015: events.trace_id, outbox.traceparent).
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// traceDocuments gives the contract's pending documents the trace
// context of the change that queued them (documents.traceparent), inside
// its transaction; an empty one leaves them as they are.
func (s *DB) traceDocuments(ctx context.Context, tx *sql.Tx, tenant, contractID, traceparent string) error {
	if traceparent == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE documents SET traceparent = ?
		WHERE tenant = ? AND contract_id = ? AND archive_state = 'pending'`), traceparent, tenant, contractID); err != nil {
		return fmt.Errorf("trace documents: %w", err)
	}
	return nil
}

// withTraceparent scans a row of documentCols followed by the
// traceparent column.
type withTraceparent struct {
	row         interface{ Scan(...any) error }
	traceparent *string
}

func (w withTraceparent) Scan(dest ...any) error { return w.row.Scan(append(dest, w.traceparent)...) }
