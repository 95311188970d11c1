package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

var _ store.Retention = (*DB)(nil)

// PruneEvents implements store.Retention. The candidates come from
// events_applied, oldest first; the newest event of each (tenant,
// contract) is kept by asking events_contract for a later one, and an
// event a dead letter names by asking dead_letters_event. On PostgreSQL
// the candidates are locked SKIP LOCKED, so two dispatchers pruning at
// once split them instead of waiting on each other.
func (s *DB) PruneEvents(ctx context.Context, appliedBefore time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("ledger: prune events: limit must be positive")
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.deleteLogged(ctx, tx, receiptlog.KindEvent, `DELETE FROM events WHERE id IN (SELECT e.id FROM events e
		WHERE e.applied_at < ?
		AND EXISTS (SELECT 1 FROM events n WHERE n.tenant = e.tenant AND n.contract_id = e.contract_id AND n.applied_at > e.applied_at)
		AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.event_id = e.id)
		ORDER BY e.applied_at LIMIT ?`+s.skipLocked()+`) RETURNING tenant, id`, s.timeArg(appliedBefore), limit)
		return err
	})
	if err != nil {
		return 0, s.fail("prune events", err)
	}
	return n, nil
}

// PrunePublished implements store.Retention, through outbox_published.
func (s *DB) PrunePublished(ctx context.Context, publishedBefore time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("ledger: prune published facts: limit must be positive")
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.deleteLogged(ctx, tx, receiptlog.KindFact, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
		WHERE published_at IS NOT NULL AND published_at < ?
		ORDER BY published_at LIMIT ?`+s.skipLocked()+`) RETURNING tenant, id`, s.timeArg(publishedBefore), limit)
		return err
	})
	if err != nil {
		return 0, s.fail("prune published facts", err)
	}
	return n, nil
}

// skipLocked is " FOR UPDATE SKIP LOCKED" where rows lock (PostgreSQL).
func (s *DB) skipLocked() string {
	if s.d.LockRow == "" {
		return ""
	}
	return s.d.LockRow + " SKIP LOCKED"
}
