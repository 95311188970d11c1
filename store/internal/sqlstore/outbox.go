package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/qyshook/qyshook/store"
)

// insertFacts writes facts to the outbox; a fact id already there is
// kept as it is. Facts without CreatedAt get now plus one microsecond per
// position, so the outbox keeps the order BuildFacts returned them in.
func (s *DB) insertFacts(ctx context.Context, tx *sql.Tx, facts []store.Fact, now time.Time) error {
	for i, f := range facts {
		if f.ID == "" {
			return fmt.Errorf("fact %d: id is empty", i)
		}
		created := f.CreatedAt
		if created.IsZero() {
			created = now.Add(time.Duration(i) * time.Microsecond)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO outbox (id, subject, payload, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
			f.ID, f.Subject, bytesArg(f.Payload), s.timeArg(created)); err != nil {
			return fmt.Errorf("insert fact %s: %w", f.ID, err)
		}
	}
	return nil
}

// Outbox implements store.Ledger: unpublished facts, oldest first.
// Limit <= 0 means no limit.
func (s *DB) Outbox(ctx context.Context, limit int) ([]store.Fact, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, subject, payload, created_at, published_at
		FROM outbox WHERE published_at IS NULL ORDER BY created_at, id`+limitClause(limit))
	if err != nil {
		return nil, s.fail("outbox", err)
	}
	defer rows.Close()
	var out []store.Fact
	for rows.Next() {
		var f store.Fact
		if err := rows.Scan(&f.ID, &f.Subject, &f.Payload, timeCol{&f.CreatedAt},
			nullTimeCol{&f.PublishedAt}); err != nil {
			return nil, s.fail("outbox: scan", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("outbox", err)
	}
	return out, nil
}

// markBatch bounds the number of ids in one UPDATE.
const markBatch = 500

// MarkPublished implements store.Ledger. Ids already published or unknown
// are ignored.
func (s *DB) MarkPublished(ctx context.Context, ids []string) error {
	now := s.timeArg(s.now())
	for len(ids) > 0 {
		batch := ids[:min(len(ids), markBatch)]
		ids = ids[len(batch):]
		args := make([]any, 0, len(batch)+1)
		args = append(args, now)
		for _, id := range batch {
			args = append(args, id)
		}
		if _, err := s.writer.ExecContext(ctx, s.q(`UPDATE outbox SET published_at = ?
			WHERE published_at IS NULL AND id IN (`+placeholders(len(batch))+`)`), args...); err != nil {
			return s.fail("mark published", err)
		}
	}
	return nil
}

// PruneOutbox implements store.Ledger.
func (s *DB) PruneOutbox(ctx context.Context, publishedBefore time.Time) (int64, error) {
	res, err := s.writer.ExecContext(ctx, s.q(`DELETE FROM outbox
		WHERE published_at IS NOT NULL AND published_at < ?`), s.timeArg(publishedBefore))
	if err != nil {
		return 0, s.fail("prune outbox", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
