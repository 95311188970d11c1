package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// The set-based path of ApplyContracts. The one-change-at-a-time path
// (applyContract for each change) costs about ten statements per new
// contract, each a round trip to PostgreSQL inside the batch transaction.
// This path costs about ten statements per batch, whatever its size:
//
//  1. one multi-row INSERT of the events (ON CONFLICT DO NOTHING
//     RETURNING id: the ones not returned were applied before);
//  2. one SELECT … FOR UPDATE of all the batch's contracts, ORDER BY
//     (tenant, id) in byte order, and one SELECT of their signatories;
//  3. the decisions, change by change in lock order, by decide (the one
//     commit rule applyContract uses too), folded over the batch: each
//     contract's final row, signatories, documents and queue update, the
//     facts numbered from the row's fact_seq;
//  4. the writes, one multi-row statement each: the stale events deleted,
//     the new contracts inserted, the changed ones upserted (their final
//     row and fact_seq), signatories replaced, documents upserted, the
//     archive queue updated, the facts inserted.
//
// Step 4 writes each row's final state where the other path wrote every
// intermediate one; the outcome is the same. Where it could differ, the
// batch is rolled back and applied again one change at a time
// (errSequential): an event repeated in the batch after a change refused
// as stale (the other path records it anew), a new contract another
// transaction created meanwhile (the other path locks and judges it), a
// fact id already in the outbox (the other path gives its number back), a
// document listed under two contracts or already under another one, and a
// contract whose archive queue update comes before a document change.
// None of these happens in the dispatcher's ordinary traffic.
//
// Locks: the existing contracts are locked by one statement in (tenant,
// id) byte order, the order the other path locks them in; the batch's new
// contracts are inserted later, in step 4, so a batch holding an existing
// contract Q and inserting a new X < Q can form a cycle with a
// one-at-a-time transaction over the same two (it holds X, then waits
// for Q): PostgreSQL ends one with a deadlock error, transient, and the
// dispatcher retries it. The events are inserted first, all at once,
// where the other path inserts each just before locking its contract: a
// transaction waits on another's event only when both hold the same event
// id (a redelivery racing its first delivery), and should that wait close
// a cycle PostgreSQL ends one with a deadlock error, which is transient:
// the dispatcher retries it.

// errSequential: the batch must be applied one change at a time.
var errSequential = errors.New("batch needs the one-change-at-a-time path")

// maxParams bounds the parameters of one statement (SQLite allows 32,766,
// PostgreSQL 65,535); larger sets are split into several statements.
const maxParams = 16000

// batchContract is what the set-based path knows of one contract.
type batchContract struct {
	tenant, id string
	row        *store.Contract // as this transaction left it; nil: not in the ledger
	exists     bool            // in the ledger before this batch
	factSeq    int64           // contracts.fact_seq as this transaction left it
	full       bool            // row changed: write every column
	refetched  bool            // only the fetch times changed
	sigs       []store.Signatory
	writeSigs  bool     // replace the signatories with sigs
	lastQueue  int      // position of the last archive queue update (-1: none)
	lastDocs   int      // position of the last document upsert (-1: none)
	refresh    []string // documents to queue again (RefreshDocuments of its applied changes)
	trace      string   // the trace context of its last queueing change
}

// batchDoc is a document upsert folded over the batch.
type batchDoc struct {
	tenant, id, contractID, title string
}

// batchFact is an outbox row to insert.
type batchFact struct {
	f       store.Fact
	payload []byte
	created time.Time
}

// batch is the set-based path's state for one ApplyContracts call.
type batch struct {
	chs     []store.ContractChange
	order   []int
	nexts   []store.Contract
	evs     []store.Event
	applies []bool // the change's event is new: it is decided
	outs    []store.Applied
	errs    []error
	now     time.Time

	byKey    map[[2]string]*batchContract
	keys     [][2]string // the contracts changed, in lock order
	deleted  []string    // events of stale changes
	stale    map[string]bool
	docs     map[[2]string]*batchDoc
	docOrder [][2]string
	facts    []batchFact
	created  time.Time // facts without CreatedAt: now, then one microsecond more each
}

// applyBatch applies chs in tx with set-based statements (see above). It
// returns errSequential when the batch must go the other way.
func (s *DB) applyBatch(ctx context.Context, tx *sql.Tx, chs []store.ContractChange, order []int) ([]store.Applied, []error, error) {
	b, err := newBatch(chs, order, s.now())
	if err != nil {
		return nil, nil, err
	}
	// 1. The events.
	if err := b.recordEvents(ctx, s, tx); err != nil {
		return nil, nil, err
	}
	// 2. Lock and read the contracts the batch changes.
	if err := b.collectKeys(); err != nil {
		return nil, nil, err
	}
	if err := s.lockContracts(ctx, tx, b.keys, b.byKey); err != nil {
		return nil, nil, err
	}
	// 3. Decide, change by change, in lock order.
	for pos, i := range b.order {
		if err := b.decide(pos, i); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range b.keys {
		if bc := b.byKey[k]; bc.lastQueue >= 0 && bc.lastDocs > bc.lastQueue {
			return nil, nil, errSequential // documents changed after the queue update
		}
	}
	// 4. Write.
	if err := b.write(ctx, s, tx); err != nil {
		return nil, nil, err
	}
	return b.outs, b.errs, nil
}

// newBatch normalises the changes as applyContract does (normalizeChange)
// and dates their events.
func newBatch(chs []store.ContractChange, order []int, now time.Time) (*batch, error) {
	b := &batch{chs: chs, order: order, now: now, created: now,
		nexts: make([]store.Contract, len(chs)), evs: make([]store.Event, len(chs)),
		applies: make([]bool, len(chs)), outs: make([]store.Applied, len(chs)), errs: make([]error, len(chs)),
		byKey: map[[2]string]*batchContract{}, stale: map[string]bool{}, docs: map[[2]string]*batchDoc{}}
	for _, i := range order {
		if chs[i].Event.ID == "" {
			return nil, fmt.Errorf("event id is empty")
		}
		next, ev, err := normalizeChange(chs[i])
		if err != nil {
			return nil, err
		}
		if ev.ReceivedAt.IsZero() {
			ev.ReceivedAt = now
		}
		if ev.AppliedAt.IsZero() {
			ev.AppliedAt = now
		}
		b.nexts[i], b.evs[i] = next, ev
	}
	return b, nil
}

// recordEvents inserts the events in lock order; an id repeated in the
// batch, or recorded before, is a duplicate and its change is not
// decided.
func (b *batch) recordEvents(ctx context.Context, s *DB, tx *sql.Tx) error {
	first := map[string]int{} // event id -> its first change
	var fresh []int
	for _, i := range b.order {
		if _, ok := first[b.evs[i].ID]; ok {
			continue
		}
		first[b.evs[i].ID] = i
		fresh = append(fresh, i)
	}
	inserted, err := s.insertEvents(ctx, tx, b.evs, fresh)
	if err != nil {
		return err
	}
	for _, i := range b.order {
		if first[b.evs[i].ID] == i && inserted[b.evs[i].ID] {
			b.applies[i] = true
			continue
		}
		b.errs[i] = s.fail("apply contract "+b.chs[i].Contract.ID, fmt.Errorf("event %s: %w", b.evs[i].ID, store.ErrDuplicate))
	}
	return nil
}

// collectKeys lists the contracts the decided changes touch, in lock
// order.
func (b *batch) collectKeys() error {
	for _, i := range b.order {
		k := [2]string{b.nexts[i].Tenant, b.nexts[i].ID}
		if !b.applies[i] || b.byKey[k] != nil {
			continue
		}
		if k[0] == "" {
			return errSequential // no tenant: the other path reads the row back each time
		}
		b.byKey[k] = &batchContract{tenant: k[0], id: k[1], lastQueue: -1, lastDocs: -1}
		b.keys = append(b.keys, k)
	}
	return nil
}

// decide makes the decision of change i (at position pos of the lock
// order) against its contract as the batch has left it, and folds it in.
func (b *batch) decide(pos, i int) error {
	if !b.applies[i] {
		if b.stale[b.evs[i].ID] {
			return errSequential // the other path records it anew
		}
		return nil
	}
	next := b.nexts[i]
	bc := b.byKey[[2]string{next.Tenant, next.ID}]
	old := bc.row
	d := decide(old, b.chs[i], next, b.now)
	switch d.outcome {
	case stale:
		b.deleted = append(b.deleted, b.evs[i].ID)
		b.stale[b.evs[i].ID] = true
		b.outs[i] = store.Applied{Stale: true, Previous: old, Current: old}
		return nil
	case refetched:
		cur := d.row
		bc.row, bc.refetched = &cur, true
		b.outs[i] = store.Applied{Previous: old, Current: &cur}
		return nil
	case unchanged:
		b.outs[i] = store.Applied{Previous: old, Current: old}
		return nil
	}
	bc.full = true
	if d.replaceSigs {
		bc.sigs, bc.writeSigs = d.sigs, true
	}
	if err := b.foldDocuments(pos, bc, d); err != nil {
		return err
	}
	if d.queueDocs {
		bc.lastQueue = pos
	}
	if len(d.refresh) > 0 {
		bc.refresh = append(bc.refresh, d.refresh...)
		bc.lastQueue = pos
	}
	if d.queueDocs || len(d.refresh) > 0 {
		bc.trace = d.traceparent
	}
	if err := b.numberFacts(bc, d); err != nil {
		return err
	}
	written := d.row
	written.Documents = nil
	bc.row = &written
	b.outs[i] = store.Applied{Changed: true, Previous: old, Current: &written}
	return nil
}

// foldDocuments records the decision's document upserts.
func (b *batch) foldDocuments(pos int, bc *batchContract, d decision) error {
	for _, doc := range d.docs {
		k := [2]string{bc.tenant, doc.ID}
		bd := b.docs[k]
		if bd == nil {
			bd = &batchDoc{tenant: bc.tenant, id: doc.ID, contractID: bc.id}
			b.docs[k] = bd
			b.docOrder = append(b.docOrder, k)
		}
		if bd.contractID != bc.id {
			return errSequential // one document under two contracts
		}
		if doc.Title != "" {
			bd.title = doc.Title
		}
		bc.lastDocs = pos
	}
	return nil
}

// numberFacts numbers the decision's facts from their contract's fact_seq
// and completes them (completeFact) for the outbox.
func (b *batch) numberFacts(bc *batchContract, d decision) error {
	for n, f := range d.facts {
		if f.ID == "" {
			return fmt.Errorf("fact %d: id is empty", n)
		}
		bf := batchFact{created: f.CreatedAt}
		if bf.created.IsZero() {
			bf.created = b.created
			b.created = b.created.Add(time.Microsecond)
		}
		f.Seq = 0
		if f.ContractID != "" {
			fc := b.byKey[[2]string{f.Tenant, f.ContractID}]
			if fc == nil || fc.row == nil && fc != bc {
				return errSequential // a fact about another contract: numbered there
			}
			fc.factSeq++
			fc.full = true
			f.Seq = fc.factSeq
		}
		var err error
		if f, bf.payload, err = completeFact(f, d.previous); err != nil {
			return err
		}
		bf.f = f
		b.facts = append(b.facts, bf)
	}
	return nil
}

// write runs step 4: one multi-row statement per kind of write.
func (b *batch) write(ctx context.Context, s *DB, tx *sql.Tx) error {
	if err := s.execIn(ctx, tx, `DELETE FROM events WHERE id IN `, 1, len(b.deleted), func(n int) []any {
		return []any{b.deleted[n]}
	}); err != nil {
		return fmt.Errorf("delete stale events: %w", err)
	}
	for _, id := range b.deleted {
		s.forget(tx, receiptlog.KindEvent, id)
	}
	if err := s.writeContracts(ctx, tx, b.keys, b.byKey); err != nil {
		return err
	}
	if err := s.writeBatchSignatories(ctx, tx, b.keys, b.byKey); err != nil {
		return err
	}
	if err := s.writeBatchDocuments(ctx, tx, b.docOrder, b.docs, b.keys, b.byKey, b.now); err != nil {
		return err
	}
	return s.insertBatchFacts(ctx, tx, b.facts)
}

// chunks calls f on successive ranges [lo, hi) of n items of cols
// parameters each, small enough for one statement.
func chunks(n, cols int, f func(lo, hi int) error) error {
	per := max(1, maxParams/cols)
	for lo := 0; lo < n; lo += per {
		if err := f(lo, min(n, lo+per)); err != nil {
			return err
		}
	}
	return nil
}

// execIn runs prefix followed by a VALUES list of n rows of cols
// parameters each (args(k) for row k), split into statements as needed.
func (s *DB) execIn(ctx context.Context, tx *sql.Tx, prefix string, cols, n int, args func(k int) []any) error {
	return chunks(n, cols, func(lo, hi int) error {
		a := make([]any, 0, cols*(hi-lo))
		for k := lo; k < hi; k++ {
			a = append(a, args(k)...)
		}
		_, err := tx.ExecContext(ctx, s.q(prefix+"(VALUES "+rows(hi-lo, cols)+")"), a...)
		return err
	})
}

// queryIDs runs a statement per chunk of n rows (build returns its text
// and arguments) whose result is one text column, and returns the set
// of values and how many rows came back.
func (s *DB) queryIDs(ctx context.Context, tx *sql.Tx, cols, n int, build func(lo, hi int) (string, []any)) (map[string]bool, int, error) {
	got := map[string]bool{}
	count := 0
	err := chunks(n, cols, func(lo, hi int) error {
		query, args := build(lo, hi)
		rs, err := tx.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				return err
			}
			got[id] = true
			count++
		}
		return rs.Err()
	})
	return got, count, err
}

// insertEvents records the events evs[i] for i in idx (distinct ids) and
// returns the ids it inserted; the others were recorded before.
func (s *DB) insertEvents(ctx context.Context, tx *sql.Tx, evs []store.Event, idx []int) (map[string]bool, error) {
	got, _, err := s.queryIDs(ctx, tx, 10, len(idx), func(lo, hi int) (string, []any) {
		args := make([]any, 0, 10*(hi-lo))
		for _, i := range idx[lo:hi] {
			ev := evs[i]
			args = append(args, ev.ID, ev.Tenant, ev.Kind, ev.Type, ev.ContractID, ev.Source,
				s.timeArg(ev.ReceivedAt), s.timeArg(ev.AppliedAt), jsonArg(ev.Payload), nullText(ev.TraceID))
		}
		return `INSERT INTO events
			(id, tenant, kind, type, contract_id, source, received_at, applied_at, payload, trace_id)
			VALUES ` + rows(hi-lo, 10) + `
			ON CONFLICT (id) DO NOTHING RETURNING id`, args
	})
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	for _, i := range idx {
		if got[evs[i].ID] {
			s.touchEvent(tx, evs[i])
		}
	}
	return got, nil
}

// lockContracts locks and reads the contracts of keys (sorted by tenant
// and id) with their signatories, in byte order of (tenant, id), and
// records them in byKey.
func (s *DB) lockContracts(ctx context.Context, tx *sql.Tx, keys [][2]string, byKey map[[2]string]*batchContract) error {
	var found [][2]string
	// The receipt log's pre-images (logfound.go), from what is read here:
	// each row's covered columns as the driver gave them, and its
	// signatories'.
	tl := s.txLogOf(tx)
	rawRows := map[[2]string][]any{}
	rawSigs := map[[2]string][][]any{}
	err := chunks(len(keys), 2, func(lo, hi int) error {
		args := make([]any, 0, 2*(hi-lo))
		for _, k := range keys[lo:hi] {
			args = append(args, k[0], k[1])
		}
		rs, err := tx.QueryContext(ctx, s.q(`SELECT `+contractCols+`, fact_seq, signed_count FROM contracts
			WHERE (tenant, id) IN (VALUES `+rows(hi-lo, 2)+`)
			ORDER BY tenant`+s.d.ByteOrder+`, id`+s.d.ByteOrder+s.d.LockRow), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var c store.Contract
			var seq int64
			var detail []byte
			var fetched, ended *time.Time
			// In rowSpecs' order: tenant, id, biz_id, subject, status,
			// confirmed, signed_count, updated_at, completed_at, detail.
			raw := make([]any, 10)
			if err := rs.Scan(rawCol[string]{dst: &c.Tenant, raw: &raw[0]}, rawCol[string]{dst: &c.ID, raw: &raw[1]},
				rawCol[string]{dst: &c.BizID, raw: &raw[2]}, rawCol[string]{dst: &c.Subject, raw: &raw[3]},
				rawCol[string]{dst: &c.Status, raw: &raw[4]}, rawCol[bool]{dst: &c.Confirmed, raw: &raw[5]},
				nullTimeCol{&fetched}, nullTimeCol{&ended}, rawScanner{timeCol{&c.UpdatedAt}, &raw[7]},
				rawScanner{nullTimeCol{&c.CompletedAt}, &raw[8]}, rawCol[[]byte]{dst: &detail, raw: &raw[9], null: true},
				&seq, rawScanner{discard{}, &raw[6]}); err != nil {
				return err
			}
			if tl != nil {
				rawRows[[2]string{c.Tenant, c.ID}] = raw
			}
			if len(detail) > 0 {
				c.Detail = detail
			}
			if fetched != nil {
				c.FetchedAt = *fetched
			}
			if ended != nil {
				c.FetchEndedAt = *ended
			}
			bc := byKey[[2]string{c.Tenant, c.ID}]
			if bc == nil {
				return fmt.Errorf("contract %s/%s read but not asked for", c.Tenant, c.ID)
			}
			bc.row, bc.exists, bc.factSeq = &c, true, seq
			found = append(found, [2]string{c.Tenant, c.ID})
		}
		return rs.Err()
	})
	if err != nil {
		return fmt.Errorf("lock contracts: %w", err)
	}
	err = chunks(len(found), 2, func(lo, hi int) error {
		args := make([]any, 0, 2*(hi-lo))
		for _, k := range found[lo:hi] {
			args = append(args, k[0], k[1])
		}
		rs, err := tx.QueryContext(ctx, s.q(`SELECT tenant, contract_id, id, tenant_type, tenant_name, status, serial_no
			FROM signatories WHERE (tenant, contract_id) IN (VALUES `+rows(hi-lo, 2)+`)
			ORDER BY tenant, contract_id, serial_no, id`), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var tenant, contractID string
			var sg store.Signatory
			raw := make([]any, 5) // signatoriesOf's columns
			if err := rs.Scan(&tenant, &contractID, rawCol[string]{dst: &sg.ID, raw: &raw[0]},
				rawCol[string]{dst: &sg.TenantType, raw: &raw[1]}, rawCol[string]{dst: &sg.TenantName, raw: &raw[2]},
				rawCol[string]{dst: &sg.Status, raw: &raw[3]}, rawCol[int]{dst: &sg.SerialNo, raw: &raw[4]}); err != nil {
				return err
			}
			k := [2]string{tenant, contractID}
			if bc := byKey[k]; bc != nil && bc.row != nil {
				bc.row.Signatories = append(bc.row.Signatories, sg)
				if tl != nil {
					rawSigs[k] = append(rawSigs[k], raw)
				}
			}
		}
		return rs.Err()
	})
	if err != nil {
		return fmt.Errorf("select signatories: %w", err)
	}
	for _, k := range found {
		if tl == nil {
			break
		}
		l, err := contractPre(k[0], k[1], rawRows[k], rawSigs[k])
		if err != nil {
			return fmt.Errorf("receipt log: contract %s/%s as read: %w", k[0], k[1], err)
		}
		tl.notePre(logRef{receiptlog.KindContract, k[0], k[1]}, l, true)
	}
	return nil
}

// contractRowCols are the columns writeContracts writes.
const contractRowCols = `tenant, id, biz_id, subject, status, confirmed, signed_count, fetched_at, fetch_ended_at, updated_at, completed_at, detail, fact_seq`

func (s *DB) contractRowArgs(bc *batchContract) []any {
	row := bc.row
	return []any{row.Tenant, row.ID, row.BizID, row.Subject, row.Status, row.Confirmed, store.Progress(row),
		s.nullTimeArg(&row.FetchedAt), s.nullTimeArg(&row.FetchEndedAt), s.timeArg(row.UpdatedAt),
		s.nullTimeArg(row.CompletedAt), jsonArg(row.Detail), bc.factSeq}
}

// writeContracts inserts the new contracts (errSequential when another
// transaction inserted one meanwhile) and writes the final rows of the
// changed ones: every column, or only the fetch times of a row a later
// fetch reconfirmed.
func (s *DB) writeContracts(ctx context.Context, tx *sql.Tx, keys [][2]string, byKey map[[2]string]*batchContract) error {
	for _, k := range keys {
		s.touch(tx, receiptlog.KindContract, k[0], k[1])
	}
	var fresh, full, refetched []*batchContract
	for _, k := range keys {
		switch bc := byKey[k]; {
		case bc.row == nil:
		case !bc.exists:
			fresh = append(fresh, bc)
		case bc.full:
			full = append(full, bc)
		case bc.refetched:
			refetched = append(refetched, bc)
		}
	}
	_, n, err := s.queryIDs(ctx, tx, 13, len(fresh), func(lo, hi int) (string, []any) {
		var args []any
		for _, bc := range fresh[lo:hi] {
			args = append(args, s.contractRowArgs(bc)...)
		}
		return `INSERT INTO contracts (` + contractRowCols + `) VALUES ` + rows(hi-lo, 13) + `
			ON CONFLICT (tenant, id) DO NOTHING RETURNING id`, args
	})
	if err != nil {
		return fmt.Errorf("insert contracts: %w", err)
	}
	if n != len(fresh) {
		return errSequential // one was created meanwhile: judge the change against it
	}
	for _, bc := range fresh {
		s.noteCreated(tx, receiptlog.KindContract, bc.tenant, bc.id)
	}
	for _, set := range []struct {
		bcs  []*batchContract
		cols string
	}{
		{full, `biz_id = excluded.biz_id, subject = excluded.subject, status = excluded.status,
			confirmed = excluded.confirmed, signed_count = excluded.signed_count,
			fetched_at = excluded.fetched_at, fetch_ended_at = excluded.fetch_ended_at,
			updated_at = excluded.updated_at, completed_at = excluded.completed_at,
			detail = excluded.detail, fact_seq = excluded.fact_seq`},
		{refetched, `fetched_at = excluded.fetched_at, fetch_ended_at = excluded.fetch_ended_at`},
	} {
		err := chunks(len(set.bcs), 13, func(lo, hi int) error {
			var args []any
			for _, bc := range set.bcs[lo:hi] {
				args = append(args, s.contractRowArgs(bc)...)
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO contracts (`+contractRowCols+`) VALUES `+rows(hi-lo, 13)+`
				ON CONFLICT (tenant, id) DO UPDATE SET `+set.cols), args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("update contracts: %w", err)
		}
	}
	// The answers of the rows written in full: one statement for the batch.
	written := make([]*store.Contract, 0, len(fresh)+len(full))
	for _, bc := range fresh {
		written = append(written, bc.row)
	}
	for _, bc := range full {
		written = append(written, bc.row)
	}
	return s.keepAnswers(ctx, tx, written...)
}

// writeBatchSignatories replaces the signatories of the contracts whose
// change listed them (and sets those of new contracts).
func (s *DB) writeBatchSignatories(ctx context.Context, tx *sql.Tx, keys [][2]string, byKey map[[2]string]*batchContract) error {
	var replace [][2]string
	type sigRow struct {
		bc *batchContract
		sg store.Signatory
	}
	var sigs []sigRow
	for _, k := range keys {
		bc := byKey[k]
		if !bc.writeSigs {
			continue
		}
		if bc.exists {
			replace = append(replace, k)
		}
		for _, sg := range bc.sigs {
			sigs = append(sigs, sigRow{bc, sg})
		}
	}
	if err := s.execIn(ctx, tx, `DELETE FROM signatories WHERE (tenant, contract_id) IN `, 2, len(replace), func(n int) []any {
		return []any{replace[n][0], replace[n][1]}
	}); err != nil {
		return fmt.Errorf("delete signatories: %w", err)
	}
	err := chunks(len(sigs), 7, func(lo, hi int) error {
		args := make([]any, 0, 7*(hi-lo))
		for _, r := range sigs[lo:hi] {
			args = append(args, r.bc.tenant, r.bc.id, r.sg.ID, r.sg.TenantType, r.sg.TenantName, r.sg.Status, r.sg.SerialNo)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO signatories
			(tenant, contract_id, id, tenant_type, tenant_name, status, serial_no)
			VALUES `+rows(hi-lo, 7)), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert signatories: %w", err)
	}
	return nil
}

// writeBatchDocuments upserts the documents' metadata (an empty title
// keeps the stored one) and queues the documents of the contracts whose
// change asked for it. A document already under another contract makes
// it errSequential (the upsert leaves such a row alone and does not
// return it).
func (s *DB) writeBatchDocuments(ctx context.Context, tx *sql.Tx, order [][2]string, docs map[[2]string]*batchDoc,
	keys [][2]string, byKey map[[2]string]*batchContract, now time.Time) error {
	if err := s.readDocsPre(ctx, tx, order); err != nil {
		return err
	}
	_, n, err := s.queryIDs(ctx, tx, 4, len(order), func(lo, hi int) (string, []any) {
		args := make([]any, 0, 4*(hi-lo))
		for _, k := range order[lo:hi] {
			d := docs[k]
			args = append(args, d.tenant, d.id, d.contractID, d.title)
		}
		return `INSERT INTO documents (tenant, id, contract_id, title)
			VALUES ` + rows(hi-lo, 4) + `
			ON CONFLICT (tenant, id) DO UPDATE SET
			title = CASE WHEN excluded.title = '' THEN documents.title ELSE excluded.title END
			WHERE documents.contract_id = excluded.contract_id
			RETURNING id`, args
	})
	if err != nil {
		return fmt.Errorf("upsert documents: %w", err)
	}
	if n != len(order) {
		return errSequential // a document moves from another contract
	}
	for _, k := range order {
		s.touch(tx, receiptlog.KindDocument, k[0], k[1])
	}
	var queue [][2]string
	for _, k := range keys {
		if byKey[k].lastQueue >= 0 {
			queue = append(queue, k)
		}
	}
	err = chunks(len(queue), 2, func(lo, hi int) error {
		args := []any{s.timeArg(now)}
		for _, k := range queue[lo:hi] {
			args = append(args, k[0], k[1])
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE documents SET archive_state = 'pending',
			attempts = 0, next_attempt_at = ?, lease_owner = '', lease_until = NULL
			WHERE (tenant, contract_id) IN (VALUES `+rows(hi-lo, 2)+`) AND archive_state IN ('', 'failed')`), args...); err != nil {
			return fmt.Errorf("queue documents: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Refreshes after the queue update, as the other path does them; each
	// applied change raises the generation once, as there.
	for _, k := range queue {
		bc := byKey[k]
		for _, id := range bc.refresh {
			if err := s.refreshDocuments(ctx, tx, bc.tenant, bc.id, []string{id}, now); err != nil {
				return err
			}
		}
		if err := s.traceDocuments(ctx, tx, bc.tenant, bc.id, bc.trace); err != nil {
			return err
		}
	}
	return nil
}

// insertBatchFacts writes the facts to the outbox. A fact id already
// there (or twice in the batch) makes it errSequential: the other path
// keeps the row and gives the fact's number back.
func (s *DB) insertBatchFacts(ctx context.Context, tx *sql.Tx, facts []batchFact) error {
	_, n, err := s.queryIDs(ctx, tx, 8, len(facts), func(lo, hi int) (string, []any) {
		args := make([]any, 0, 8*(hi-lo))
		for _, bf := range facts[lo:hi] {
			f := bf.f
			args = append(args, f.ID, f.Subject, bytesArg(bf.payload), s.timeArg(bf.created), f.Tenant, f.ContractID, f.Seq,
				nullText(f.Traceparent))
		}
		return `INSERT INTO outbox (id, subject, payload, created_at, tenant, contract_id, seq, traceparent)
			VALUES ` + rows(hi-lo, 8) + ` ON CONFLICT (id) DO NOTHING RETURNING id`, args
	})
	if err != nil {
		return fmt.Errorf("insert facts: %w", err)
	}
	if n != len(facts) {
		return errSequential
	}
	for _, bf := range facts {
		s.touchFact(tx, bf.f, bf.payload, bf.created)
	}
	return nil
}

// completeFact is what insertFacts does to a fact numbered f.Seq (0: not
// numbered) before writing it: an AfterPrevious fact gets the id that
// covers the previous status and its number, and its payload the "id" and
// "previous_status" members; a numbered fact's payload gets "seq". The
// payload is decoded and encoded once for all of them.
func completeFact(f store.Fact, previous string) (store.Fact, []byte, error) {
	set := map[string]json.RawMessage{}
	if f.AfterPrevious {
		f.ID = store.FactIDAfter(f.ID, previous, f.Seq)
		id, _ := json.Marshal(f.ID)
		set["id"] = id
		if previous != "" {
			prev, _ := json.Marshal(previous)
			set["previous_status"] = prev
		}
		f.AfterPrevious = false
	}
	if f.Seq > 0 {
		set["seq"] = json.RawMessage(strconv.FormatInt(f.Seq, 10))
	}
	if len(set) == 0 {
		return f, f.Payload, nil
	}
	payload, err := withMembers(f.Payload, set)
	if err != nil {
		return f, nil, fmt.Errorf("fact %s: %w", f.ID, err)
	}
	f.Payload = payload
	return f, payload, nil
}
