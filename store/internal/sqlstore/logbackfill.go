package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// BackfillLog gives every row written before the receipt log existed
// (migration 0011 on a ledger in use) its leaf, as the row is found, once:
// log_head.backfilled records that it ran. Later opens return at once. It
// pages through each table a transaction per page, under the head's lock,
// so two processes opening at once do not both append a row's leaf. It
// returns the leaves appended.
func (s *DB) BackfillLog(ctx context.Context) (int64, error) {
	if s.noLog {
		return 0, nil
	}
	var done bool
	if err := s.writer.QueryRowContext(ctx, `SELECT backfilled FROM log_head WHERE id = 1`).Scan(&done); err != nil {
		return 0, s.fail("receipt log backfill", err)
	}
	if done {
		return 0, nil
	}
	var total int64
	for _, kind := range logKinds {
		spec := rowSpecs[kind]
		var after *rowKey
		for {
			v := &logVerify{s: s, q: s.writer, o: store.LogVerifyOptions{PageSize: 500}}
			page, err := v.keyPage(ctx, spec, after)
			if err != nil {
				return total, s.fail("receipt log backfill", err)
			}
			if len(page) == 0 {
				break
			}
			err = s.inTx(ctx, func(tx *sql.Tx) error {
				n, err := s.backfillPage(ctx, tx, kind, page)
				total += n
				return err
			})
			if err != nil {
				return total, s.fail("receipt log backfill", err)
			}
			if len(page) < 500 {
				break
			}
			after = &page[len(page)-1]
		}
	}
	if _, err := s.writer.ExecContext(ctx, s.q(`UPDATE log_head SET backfilled = ? WHERE id = 1`), true); err != nil {
		return total, s.fail("receipt log backfill", err)
	}
	return total, nil
}

// backfillPage appends the leaves of the rows of page that have none.
func (s *DB) backfillPage(ctx context.Context, tx *sql.Tx, kind string, page []rowKey) (int64, error) {
	var size int64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM log_head WHERE id = 1`+s.d.LockRow).Scan(&size); err != nil {
		return 0, fmt.Errorf("lock head: %w", err)
	}
	refs := make([]logRef, len(page))
	for i, k := range page {
		refs[i] = logRef{kind, k.tenant, k.ref}
	}
	last, err := s.lastLeafHashes(ctx, tx, refs)
	if err != nil {
		return 0, err
	}
	var missing []logRef
	for _, r := range refs {
		if _, ok := last[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	now, err := s.rowLeaves(ctx, tx, kind, missing)
	if err != nil {
		return 0, err
	}
	var leaves []receiptlog.Leaf
	for _, r := range missing {
		if l, ok := now[r]; ok {
			leaves = append(leaves, l)
		}
	}
	return int64(len(leaves)), s.appendLeaves(ctx, tx, leaves)
}
