package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// ApplyContract implements store.Ledger. In one transaction it records
// the event (store.ErrDuplicate if it was recorded before), locks the
// contract row, and when store.Advances says the change moves the ledger
// forward writes the contract, its signatories, its document metadata and
// the change's facts.
func (s *DB) ApplyContract(ctx context.Context, ch store.ContractChange) (store.Applied, error) {
	var out store.Applied
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.applyContract(ctx, tx, ch, nil, true)
		return err
	})
	if err != nil {
		return store.Applied{}, s.fail("apply contract "+ch.Contract.ID, err)
	}
	return out, nil
}

// ApplyContracts implements store.Ledger: the changes in one transaction.
// The contracts are locked in (tenant, id) order, whatever the order of
// chs, so two batches touching the same contracts cannot deadlock; the
// changes of one contract keep their order in chs, and the results come
// back in the order of chs. A duplicate event skips its change only.
//
// It applies the batch with set-based statements (applyBatch: about ten
// statements whatever the batch's size), or, when that path cannot be
// sure to do what one change at a time would, rolls back and applies the
// changes one at a time in a new transaction.
func (s *DB) ApplyContracts(ctx context.Context, chs []store.ContractChange) ([]store.Applied, []error, error) {
	order := lockOrder(chs)
	var outs []store.Applied
	var errs []error
	var err error
	if !s.oneByOne {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			outs, errs, err = s.applyBatch(ctx, tx, chs, order)
			return err
		})
		if errors.Is(err, errSequential) {
			s.fallbacks.Add(1)
		}
	}
	if s.oneByOne || errors.Is(err, errSequential) {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			outs, errs, err = s.applyOneByOne(ctx, tx, chs, order)
			return err
		})
	}
	if err != nil {
		return nil, nil, s.fail(fmt.Sprintf("apply %d contract changes", len(chs)), err)
	}
	return outs, errs, nil
}

// applyOneByOne applies chs in tx one change at a time, in lock order.
func (s *DB) applyOneByOne(ctx context.Context, tx *sql.Tx, chs []store.ContractChange, order []int) ([]store.Applied, []error, error) {
	outs, errs := make([]store.Applied, len(chs)), make([]error, len(chs))
	// The rows this transaction already locked and wrote, so later
	// changes of the same contract skip reading them again.
	known := map[[2]string]*store.Contract{}
	for _, i := range order {
		ch := chs[i]
		key := contractKey(ch)
		out, err := s.applyContract(ctx, tx, ch, known[key], false)
		switch {
		case errors.Is(err, store.ErrDuplicate):
			errs[i] = s.fail("apply contract "+ch.Contract.ID, err)
		case err != nil:
			return nil, nil, err
		default:
			outs[i] = out
			if key[0] != "" && key[1] != "" && out.Current != nil {
				known[key] = out.Current
			}
		}
	}
	return outs, errs, nil
}

// contractKey is the (tenant, id) a change applies to, with the event's
// tenant and contract id standing in for empty ones (as applyContract does).
func contractKey(ch store.ContractChange) [2]string {
	tenant, id := ch.Contract.Tenant, ch.Contract.ID
	if tenant == "" {
		tenant = ch.Event.Tenant
	}
	if id == "" {
		id = ch.Event.ContractID
	}
	return [2]string{tenant, id}
}

// lockOrder returns the indexes of chs sorted by (tenant, contract id),
// stable, so each contract's changes keep their order.
func lockOrder(chs []store.ContractChange) []int {
	order := make([]int, len(chs))
	keys := make([][2]string, len(chs))
	for i, ch := range chs {
		order[i], keys[i] = i, contractKey(ch)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := strings.Compare(keys[a][0], keys[b][0]); c != 0 {
			return c
		}
		return strings.Compare(keys[a][1], keys[b][1])
	})
	return order
}

// applyContract applies one change inside tx. A duplicate event returns
// store.ErrDuplicate before anything is written. known, when not nil, is
// the contract's row as this transaction left it (already locked). reload
// reads the written row back (with its documents) for Applied.Current;
// without it Current is the row as written, without documents. What the
// change does is decide's; this path reads and writes one row at a time.
func (s *DB) applyContract(ctx context.Context, tx *sql.Tx, ch store.ContractChange, known *store.Contract, reload bool) (store.Applied, error) {
	next, ev, err := normalizeChange(ch)
	if err != nil {
		return store.Applied{}, err
	}
	if err := s.insertEvent(ctx, tx, ev); err != nil {
		return store.Applied{}, err
	}
	now := s.now()
	old, err := s.lockOrCreate(ctx, tx, known, next, now)
	if err != nil {
		return store.Applied{}, err
	}
	d := decide(old, ch, next, now)
	switch d.outcome {
	case stale:
		if err := s.deleteEvent(ctx, tx, ev.ID); err != nil {
			return store.Applied{}, err
		}
		return store.Applied{Stale: true, Previous: old, Current: old}, nil
	case refetched:
		if err := s.setFetched(ctx, tx, old.Tenant, old.ID, d.row.FetchedAt, d.row.FetchEndedAt); err != nil {
			return store.Applied{}, err
		}
		return store.Applied{Previous: old, Current: &d.row}, nil
	case unchanged:
		return store.Applied{Previous: old, Current: old}, nil
	}
	if err := s.writeDecision(ctx, tx, old, d, now); err != nil {
		return store.Applied{}, err
	}
	written := d.row
	if !reload {
		written.Documents = nil
		return store.Applied{Changed: true, Previous: old, Current: &written}, nil
	}
	cur, err := s.loadContract(ctx, tx, next.Tenant, next.ID, "", true)
	if err != nil {
		return store.Applied{}, err
	}
	return store.Applied{Changed: true, Previous: old, Current: cur}, nil
}

// normalizeChange fills the change's contract tenant and id from its
// event (and the event's contract id from the contract).
func normalizeChange(ch store.ContractChange) (store.Contract, store.Event, error) {
	k := contractKey(ch)
	next := ch.Contract
	next.Tenant, next.ID = k[0], k[1]
	if next.ID == "" {
		return next, ch.Event, fmt.Errorf("contract id is empty")
	}
	ev := ch.Event
	if ev.ContractID == "" {
		ev.ContractID = next.ID
	}
	return next, ev, nil
}

// lockOrCreate returns the contract as this transaction holds it: known,
// or the locked row, or nil after inserting next as a new row. When
// another transaction created it first, the row it wrote is locked and
// returned.
func (s *DB) lockOrCreate(ctx context.Context, tx *sql.Tx, known *store.Contract, next store.Contract, now time.Time) (*store.Contract, error) {
	if known != nil {
		return known, nil
	}
	old, err := s.lockContract(ctx, tx, next.Tenant, next.ID)
	if err != nil {
		return nil, err
	}
	if old != nil {
		// Locked: its pre-image for the receipt log (logfound.go).
		return old, s.readPre(ctx, tx, receiptlog.KindContract, next.Tenant, next.ID)
	}
	inserted, err := s.insertContract(ctx, tx, merge(nil, next, now))
	if err != nil {
		return nil, err
	}
	if inserted {
		s.noteCreated(tx, receiptlog.KindContract, next.Tenant, next.ID)
		return nil, nil
	}
	// Another transaction created it first: judge the change against it.
	if old, err = s.lockContract(ctx, tx, next.Tenant, next.ID); err != nil {
		return nil, err
	}
	if old == nil {
		return nil, fmt.Errorf("contract %s vanished", next.ID)
	}
	return old, s.readPre(ctx, tx, receiptlog.KindContract, next.Tenant, next.ID)
}

// writeDecision writes a changed decision: the row (a new one was
// inserted by lockOrCreate), its signatories and documents, the archive
// queue and the facts.
func (s *DB) writeDecision(ctx context.Context, tx *sql.Tx, old *store.Contract, d decision, now time.Time) error {
	if old != nil {
		if err := s.updateContract(ctx, tx, d.row); err != nil {
			return err
		}
	}
	if err := s.writeChildren(ctx, tx, d); err != nil {
		return err
	}
	if d.queueDocs {
		if err := s.queueDocuments(ctx, tx, d.row.Tenant, d.row.ID, now); err != nil {
			return err
		}
	}
	if err := s.refreshDocuments(ctx, tx, d.row.Tenant, d.row.ID, d.refresh, now); err != nil {
		return err
	}
	if d.queueDocs || len(d.refresh) > 0 {
		if err := s.traceDocuments(ctx, tx, d.row.Tenant, d.row.ID, d.traceparent); err != nil {
			return err
		}
	}
	if len(d.facts) > 0 {
		return s.insertFacts(ctx, tx, d.facts, d.previous, now)
	}
	return nil
}

// merge builds the row to write from the change next over old (nil for
// a new contract): empty fields of next keep old's values (FetchedAt
// and FetchEndedAt included, together); UpdatedAt defaults to now; CompletedAt is next's if set,
// else old's, else now when the contract reaches COMPLETE.
func merge(old *store.Contract, next store.Contract, now time.Time) store.Contract {
	row := next
	if row.UpdatedAt.IsZero() {
		row.UpdatedAt = now
	}
	if old != nil {
		if row.BizID == "" {
			row.BizID = old.BizID
		}
		if row.Subject == "" {
			row.Subject = old.Subject
		}
		if len(row.Detail) == 0 {
			row.Detail = old.Detail
		}
		if len(row.Signatories) == 0 {
			row.Signatories = old.Signatories
		}
		if row.CompletedAt == nil {
			row.CompletedAt = old.CompletedAt
		}
		if row.FetchedAt.IsZero() {
			row.FetchedAt, row.FetchEndedAt = old.FetchedAt, old.FetchEndedAt
		}
	}
	if row.CompletedAt == nil && row.Status == lifecycle.Complete {
		t := row.UpdatedAt
		row.CompletedAt = &t
	}
	return row
}

// insertEvent records ev, or returns store.ErrDuplicate.
func (s *DB) insertEvent(ctx context.Context, tx *sql.Tx, ev store.Event) error {
	if ev.ID == "" {
		return fmt.Errorf("event id is empty")
	}
	now := s.now()
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now
	}
	if ev.AppliedAt.IsZero() {
		ev.AppliedAt = now
	}
	var id string
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO events
		(id, tenant, kind, type, contract_id, source, received_at, applied_at, payload, trace_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING RETURNING id`),
		ev.ID, ev.Tenant, ev.Kind, ev.Type, ev.ContractID, ev.Source,
		s.timeArg(ev.ReceivedAt), s.timeArg(ev.AppliedAt), jsonArg(ev.Payload), nullText(ev.TraceID)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("event %s: %w", ev.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert event %s: %w", ev.ID, err)
	}
	s.touchEvent(tx, ev)
	return nil
}

// lockContract loads and locks a contract with its signatories and
// documents; it returns nil, nil when there is none.
func (s *DB) lockContract(ctx context.Context, tx *sql.Tx, tenant, id string) (*store.Contract, error) {
	c, err := s.loadContract(ctx, tx, tenant, id, s.d.LockRow, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return c, err
}

// insertContract inserts row unless it exists; it reports whether it did.
func (s *DB) insertContract(ctx context.Context, tx *sql.Tx, row store.Contract) (bool, error) {
	var id string
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO contracts
		(tenant, id, biz_id, subject, status, confirmed, signed_count, fetched_at, fetch_ended_at, updated_at, completed_at, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, id) DO NOTHING RETURNING id`),
		row.Tenant, row.ID, row.BizID, row.Subject, row.Status, row.Confirmed, store.Progress(&row),
		s.nullTimeArg(&row.FetchedAt), s.nullTimeArg(&row.FetchEndedAt), s.timeArg(row.UpdatedAt), s.nullTimeArg(row.CompletedAt), jsonArg(row.Detail)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert contract: %w", err)
	}
	s.touch(tx, receiptlog.KindContract, row.Tenant, row.ID)
	return true, s.keepAnswers(ctx, tx, &row)
}

func (s *DB) updateContract(ctx context.Context, tx *sql.Tx, row store.Contract) error {
	_, err := tx.ExecContext(ctx, s.q(`UPDATE contracts SET
		biz_id = ?, subject = ?, status = ?, confirmed = ?, signed_count = ?,
		fetched_at = ?, fetch_ended_at = ?, updated_at = ?, completed_at = ?, detail = ?
		WHERE tenant = ? AND id = ?`),
		row.BizID, row.Subject, row.Status, row.Confirmed, store.Progress(&row),
		s.nullTimeArg(&row.FetchedAt), s.nullTimeArg(&row.FetchEndedAt), s.timeArg(row.UpdatedAt), s.nullTimeArg(row.CompletedAt), jsonArg(row.Detail),
		row.Tenant, row.ID)
	if err != nil {
		return fmt.Errorf("update contract: %w", err)
	}
	s.touch(tx, receiptlog.KindContract, row.Tenant, row.ID)
	return s.keepAnswers(ctx, tx, &row)
}

// setFetched records the fetch times of a row a later fetch confirmed
// unchanged.
func (s *DB) setFetched(ctx context.Context, tx *sql.Tx, tenant, id string, began, ended time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE contracts SET fetched_at = ?, fetch_ended_at = ? WHERE tenant = ? AND id = ?`),
		s.nullTimeArg(&began), s.nullTimeArg(&ended), tenant, id); err != nil {
		return fmt.Errorf("update contract fetch times: %w", err)
	}
	return nil
}

// deleteEvent forgets an event recorded earlier in tx (a change refused
// as stale is applied anew on redelivery).
func (s *DB) deleteEvent(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE id = ?`), id); err != nil {
		return fmt.Errorf("delete event %s: %w", id, err)
	}
	s.forget(tx, receiptlog.KindEvent, id)
	return nil
}

// writeChildren replaces the signatories (when the decision says so)
// and upserts the documents' metadata (an empty title keeps the stored
// one).
func (s *DB) writeChildren(ctx context.Context, tx *sql.Tx, d decision) error {
	tenant, id := d.row.Tenant, d.row.ID
	s.touch(tx, receiptlog.KindContract, tenant, id)
	docIDs := make([]string, len(d.docs))
	for i, doc := range d.docs {
		s.touch(tx, receiptlog.KindDocument, tenant, doc.ID)
		docIDs[i] = doc.ID
	}
	if err := s.readPre(ctx, tx, receiptlog.KindDocument, tenant, docIDs...); err != nil {
		return err
	}
	if d.replaceSigs {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM signatories WHERE tenant = ? AND contract_id = ?`),
			tenant, id); err != nil {
			return fmt.Errorf("delete signatories: %w", err)
		}
		if len(d.sigs) > 0 {
			args := make([]any, 0, 7*len(d.sigs))
			for _, sg := range d.sigs {
				args = append(args, tenant, id, sg.ID, sg.TenantType, sg.TenantName, sg.Status, sg.SerialNo)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO signatories
				(tenant, contract_id, id, tenant_type, tenant_name, status, serial_no)
				VALUES `+rows(len(d.sigs), 7)), args...); err != nil {
				return fmt.Errorf("insert signatories: %w", err)
			}
		}
	}
	if len(d.docs) == 0 {
		return nil
	}
	args := make([]any, 0, 4*len(d.docs))
	for _, doc := range d.docs {
		args = append(args, tenant, doc.ID, id, doc.Title)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO documents (tenant, id, contract_id, title)
		VALUES `+rows(len(d.docs), 4)+`
		ON CONFLICT (tenant, id) DO UPDATE SET
		contract_id = excluded.contract_id,
		title = CASE WHEN excluded.title = '' THEN documents.title ELSE excluded.title END`), args...); err != nil {
		return fmt.Errorf("upsert documents: %w", err)
	}
	return nil
}

// rows returns n groups of m placeholders for a multi-row VALUES.
func rows(n, m int) string {
	group := "(" + placeholders(m) + ")"
	return strings.TrimSuffix(strings.Repeat(group+", ", n), ", ")
}

// lastByID keeps, for each id, its last item (a multi-row statement may
// not touch one row twice), in first-seen order.
func lastByID[T any](items []T, id func(T) string) []T {
	index := make(map[string]int, len(items))
	out := make([]T, 0, len(items))
	for _, it := range items {
		if i, ok := index[id(it)]; ok {
			out[i] = it
			continue
		}
		index[id(it)] = len(out)
		out = append(out, it)
	}
	return out
}
