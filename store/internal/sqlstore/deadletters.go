package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

const deadLetterCols = `id, event_id, tenant, consumer, subject, stream_seq, reason, deliveries, payload, created_at,
	retry_of, retries, first_failed_at`

// deadLetterPre notes, for the receipt log (logfound.go), the pre-image
// of the dead letter AddDeadLetter's upsert will replace, if any.
func (s *DB) deadLetterPre(ctx context.Context, tx *sql.Tx, d store.DeadLetter) error {
	if d.StreamSeq == 0 || s.txLogOf(tx) == nil {
		return nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM dead_letters WHERE consumer = ? AND stream_seq = ?`),
		d.Consumer, int64(d.StreamSeq)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("receipt log: read dead letter before replacing it: %w", err)
	}
	return s.readPre(ctx, tx, receiptlog.KindDeadLetter, d.Tenant, strconv.FormatInt(id, 10))
}

// AddDeadLetter implements store.Ledger; it returns the new id.
func (s *DB) AddDeadLetter(ctx context.Context, d store.DeadLetter) (int64, error) {
	if d.StreamSeq > math.MaxInt64 {
		return 0, fmt.Errorf("ledger: add dead letter: stream sequence %d out of range", d.StreamSeq)
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.deadLetterPre(ctx, tx, d); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO dead_letters
		(event_id, tenant, consumer, subject, stream_seq, reason, deliveries, payload, created_at,
		retry_of, retries, first_failed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (consumer, stream_seq) WHERE stream_seq > 0
		DO UPDATE SET event_id = excluded.event_id, tenant = excluded.tenant, subject = excluded.subject,
		reason = excluded.reason, deliveries = excluded.deliveries, payload = excluded.payload,
		created_at = excluded.created_at, retry_of = excluded.retry_of, retries = excluded.retries,
		first_failed_at = excluded.first_failed_at
		RETURNING id`),
			d.EventID, d.Tenant, d.Consumer, d.Subject, int64(d.StreamSeq), d.Reason, d.Deliveries,
			bytesArg(d.Payload), s.timeArg(d.CreatedAt), d.RetryOf, d.Retries, s.nullTimeArg(d.FirstFailedAt)).Scan(&id)
		if err == nil {
			s.touch(tx, receiptlog.KindDeadLetter, d.Tenant, strconv.FormatInt(id, 10))
		}
		return err
	})
	if err != nil {
		return 0, s.fail("add dead letter", err)
	}
	return id, nil
}

func scanDeadLetter(sc interface{ Scan(...any) error }) (store.DeadLetter, error) {
	var d store.DeadLetter
	var seq int64
	err := sc.Scan(&d.ID, &d.EventID, &d.Tenant, &d.Consumer, &d.Subject, &seq, &d.Reason,
		&d.Deliveries, &d.Payload, timeCol{&d.CreatedAt}, &d.RetryOf, &d.Retries, nullTimeCol{&d.FirstFailedAt})
	d.StreamSeq = uint64(seq)
	return d, err
}

// DeadLetters implements store.Ledger: oldest first; limit <= 0 means no
// limit.
func (s *DB) DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+deadLetterCols+` FROM dead_letters ORDER BY id`+limitClause(limit))
	if err != nil {
		return nil, s.fail("dead letters", err)
	}
	defer rows.Close()
	var out []store.DeadLetter
	for rows.Next() {
		d, err := scanDeadLetter(rows)
		if err != nil {
			return nil, s.fail("dead letters: scan", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("dead letters", err)
	}
	return out, nil
}

// DeadLetter implements store.Ledger; store.ErrNotFound if there is none.
func (s *DB) DeadLetter(ctx context.Context, id int64) (*store.DeadLetter, error) {
	d, err := scanDeadLetter(s.reader.QueryRowContext(ctx, s.q(`SELECT `+deadLetterCols+
		` FROM dead_letters WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("dead letter "+strconv.FormatInt(id, 10), err)
	}
	return &d, nil
}

// DeleteDeadLetter implements store.Ledger; store.ErrNotFound if there is
// none.
func (s *DB) DeleteDeadLetter(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.deleteLogged(ctx, tx, receiptlog.KindDeadLetter, `DELETE FROM dead_letters WHERE id = ? RETURNING tenant, id`, id)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
	return s.fail("delete dead letter "+strconv.FormatInt(id, 10), err)
}
