package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// insertFacts writes facts to the outbox; a fact id already there is
// kept as it is. Facts without CreatedAt get now plus one microsecond per
// position, so the outbox keeps the order they were given in.
//
// A fact naming a contract (Tenant and ContractID) gets that contract's
// next sequence number (contracts.fact_seq, counted in this transaction,
// which holds the contract's row lock from then on), stored in the outbox
// and set as "seq" in its payload, a JSON object (or empty). The contract
// must be in the ledger. A fact id already in the outbox takes no number.
//
// An AfterPrevious fact is completed with the status the contract came
// from (previous, "" for a new one) and its number: its id becomes
// store.FactIDAfter(id, previous, seq), and its payload gets the "id" and
// "previous_status" members too.
func (s *DB) insertFacts(ctx context.Context, tx *sql.Tx, facts []store.Fact, previous string, now time.Time) error {
	for i, f := range facts {
		if f.ID == "" {
			return fmt.Errorf("fact %d: id is empty", i)
		}
		created := f.CreatedAt
		if created.IsZero() {
			created = now.Add(time.Duration(i) * time.Microsecond)
		}
		f.Seq = 0
		payload := f.Payload
		if f.ContractID != "" {
			seq, err := s.nextFactSeq(ctx, tx, f.Tenant, f.ContractID, 1)
			if err != nil {
				return fmt.Errorf("fact %s: %w", f.ID, err)
			}
			f.Seq = seq
		}
		if f.AfterPrevious {
			var err error
			if f, err = afterPrevious(f, previous); err != nil {
				return err
			}
			payload = f.Payload
		}
		if f.Seq > 0 {
			var err error
			if payload, err = withSeq(payload, f.Seq); err != nil {
				return fmt.Errorf("fact %s: %w", f.ID, err)
			}
		}
		var id string
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO outbox (id, subject, payload, created_at, tenant, contract_id, seq, traceparent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id`),
			f.ID, f.Subject, bytesArg(payload), s.timeArg(created), f.Tenant, f.ContractID, f.Seq, nullText(f.Traceparent)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			if f.Seq > 0 { // a repeat: give its number back, so the contract's numbers stay contiguous
				if _, err := s.nextFactSeq(ctx, tx, f.Tenant, f.ContractID, -1); err != nil {
					return fmt.Errorf("fact %s: %w", f.ID, err)
				}
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("insert fact %s: %w", f.ID, err)
		}
		s.touchFact(tx, f, payload, created)
	}
	return nil
}

// nextFactSeq adds delta to a contract's fact counter and returns it.
func (s *DB) nextFactSeq(ctx context.Context, tx *sql.Tx, tenant, contractID string, delta int) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, s.q(`UPDATE contracts SET fact_seq = fact_seq + ?
		WHERE tenant = ? AND id = ? RETURNING fact_seq`), delta, tenant, contractID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("contract %s/%s is not in the ledger", tenant, contractID)
	}
	if err != nil {
		return 0, fmt.Errorf("count facts of %s: %w", contractID, err)
	}
	return seq, nil
}

// withSeq returns payload, a JSON object, with its "seq" member set to seq
// (members are re-encoded in key order). An empty payload stays empty.
func withSeq(payload []byte, seq int64) ([]byte, error) {
	return withMembers(payload, map[string]json.RawMessage{"seq": json.RawMessage(strconv.FormatInt(seq, 10))})
}

// afterPrevious completes a state-change fact with the status the
// contract came from ("" for a new one) and its number (f.Seq): the id
// that covers both, and the payload's "id" and "previous_status" members.
func afterPrevious(f store.Fact, previous string) (store.Fact, error) {
	f.ID = store.FactIDAfter(f.ID, previous, f.Seq)
	set := map[string]json.RawMessage{}
	id, _ := json.Marshal(f.ID)
	set["id"] = id
	if previous != "" {
		prev, _ := json.Marshal(previous)
		set["previous_status"] = prev
	}
	var err error
	if f.Payload, err = withMembers(f.Payload, set); err != nil {
		return f, fmt.Errorf("fact %s: %w", f.ID, err)
	}
	f.AfterPrevious = false
	return f, nil
}

// withMembers returns payload, a JSON object, with members set (members
// are re-encoded in key order). An empty payload stays empty.
func withMembers(payload []byte, set map[string]json.RawMessage) ([]byte, error) {
	if len(payload) == 0 {
		return payload, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil || members == nil {
		return nil, fmt.Errorf("payload is not a JSON object")
	}
	for k, v := range set {
		members[k] = v
	}
	out, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return out, nil
}

// lockFactContracts locks the rows of the contracts facts name, in
// (tenant, id) order, before anything else in tx: the apply path locks a
// contract before its documents, and so must every transaction that
// numbers a contract's facts.
func (s *DB) lockFactContracts(ctx context.Context, tx *sql.Tx, facts []store.Fact) error {
	var keys [][2]string
	for _, f := range facts {
		if f.ContractID != "" {
			keys = append(keys, [2]string{f.Tenant, f.ContractID})
		}
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	for _, k := range slices.Compact(keys) {
		var id string
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM contracts WHERE tenant = ? AND id = ?`+s.d.LockRow),
			k[0], k[1]).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("fact about contract %s/%s: not in the ledger", k[0], k[1])
		}
		if err != nil {
			return fmt.Errorf("lock contract %s: %w", k[1], err)
		}
	}
	return nil
}

// Outbox implements store.Ledger: unpublished facts, oldest first.
// Limit <= 0 means no limit.
func (s *DB) Outbox(ctx context.Context, limit int) ([]store.Fact, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, subject, payload, created_at, published_at,
		tenant, contract_id, seq, COALESCE(traceparent, '') FROM outbox WHERE published_at IS NULL ORDER BY created_at, id`+limitClause(limit))
	if err != nil {
		return nil, s.fail("outbox", err)
	}
	defer rows.Close()
	var out []store.Fact
	for rows.Next() {
		var f store.Fact
		if err := rows.Scan(&f.ID, &f.Subject, &f.Payload, timeCol{&f.CreatedAt},
			nullTimeCol{&f.PublishedAt}, &f.Tenant, &f.ContractID, &f.Seq, &f.Traceparent); err != nil {
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
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.deleteLogged(ctx, tx, receiptlog.KindFact, `DELETE FROM outbox
		WHERE published_at IS NOT NULL AND published_at < ? RETURNING tenant, id`, s.timeArg(publishedBefore))
		return err
	})
	if err != nil {
		return 0, s.fail("prune outbox", err)
	}
	return n, nil
}
