package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/qyshook/qyshook/store"
)

var _ store.NoticeLedger = (*DB)(nil)

// ApplyNotice implements store.NoticeLedger: the event row (its payload
// is the notice as received) and the facts, in one transaction.
func (s *DB) ApplyNotice(ctx context.Context, ev store.Event, facts []store.Fact) error {
	for _, f := range facts {
		if f.ContractID != "" {
			return fmt.Errorf("ledger: apply notice %s: fact %s names a contract", ev.ID, f.ID)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertEvent(ctx, tx, ev); err != nil {
			return err
		}
		return s.insertFacts(ctx, tx, facts, "", s.now())
	})
	if err != nil {
		return s.fail("apply notice "+ev.ID, err)
	}
	return nil
}
