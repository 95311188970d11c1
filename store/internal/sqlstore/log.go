package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

var _ store.ReceiptLog = (*DB)(nil)

// logRef names a row a transaction wrote: at commit it gets a leaf.
type logRef struct{ kind, tenant, ref string }

// txLog collects the rows one transaction wrote, in the order written.
type txLog struct {
	refs []logRef
	seen map[logRef]bool
	seq  map[string]uint64 // event id → stream sequence, when known
	// known holds the leaves of rows inserted with values the commit
	// knows (events, facts): no need to read them back.
	known map[logRef]receiptlog.Leaf
	// pre holds the mutable rows' leaves before tx first wrote them
	// (logfound.go); found the found-edited leaves appendLog appended.
	pre   map[logRef]preImage
	found []foundEdit
}

// forget records that tx deleted the row (kind, ref) it inserted (a
// stale change's event): its leaf is no longer known, so the commit
// reads the row back, and appends nothing when it is still gone (a later
// change of the transaction may have recorded it again).
func (s *DB) forget(tx *sql.Tx, kind, ref string) {
	v, ok := s.logs.Load(tx)
	if !ok {
		return
	}
	tl := v.(*txLog)
	for r := range tl.known {
		if r.kind == kind && r.ref == ref {
			delete(tl.known, r)
		}
	}
}

// WithoutLog makes s write no receipt log (benchmarks compare the
// dispatcher with and without it; nothing else should call it).
func WithoutLog(s *DB) { s.noLog = true }

// touch records that tx wrote the row (kind, tenant, ref): the commit
// appends a leaf for its content then.
func (s *DB) touch(tx *sql.Tx, kind, tenant, ref string) {
	v, ok := s.logs.Load(tx)
	if !ok {
		return
	}
	tl := v.(*txLog)
	r := logRef{kind, tenant, ref}
	if tl.seen[r] {
		return
	}
	if tl.seen == nil {
		tl.seen = map[logRef]bool{}
	}
	tl.seen[r] = true
	tl.refs = append(tl.refs, r)
}

// touchEvent is touch for an event row just inserted as ev (its times
// already set), keeping its stream sequence.
func (s *DB) touchEvent(tx *sql.Tx, ev store.Event) {
	s.touchInserted(tx, receiptlog.KindEvent, ev.Tenant, ev.ID, []any{ev.ID, ev.Tenant, ev.Kind, ev.Type, ev.ContractID,
		ev.Source, s.timeArg(ev.ReceivedAt), s.timeArg(ev.AppliedAt), jsonArg(ev.Payload)})
	if ev.StreamSeq == 0 {
		return
	}
	if v, ok := s.logs.Load(tx); ok {
		tl := v.(*txLog)
		if tl.seq == nil {
			tl.seq = map[string]uint64{}
		}
		tl.seq[ev.ID] = ev.StreamSeq
	}
}

// touchFact is touch for an outbox row just inserted with these values.
func (s *DB) touchFact(tx *sql.Tx, f store.Fact, payload []byte, created time.Time) {
	s.touchInserted(tx, receiptlog.KindFact, f.Tenant, f.ID, []any{f.ID, f.Subject, f.Tenant, f.ContractID, f.Seq,
		s.timeArg(created), bytesArg(payload)})
}

// touchInserted is touch for a row of an insert-only kind that tx just
// inserted with vals (the arguments as the driver got them, in the
// kind's rowSpec column order): its leaf is built from them, as it would
// be from the row read back (normValue makes the two the same; verify
// --log reads the row and would name any difference).
func (s *DB) touchInserted(tx *sql.Tx, kind, tenant, ref string, vals []any) {
	v, ok := s.logs.Load(tx)
	if !ok {
		return
	}
	s.touch(tx, kind, tenant, ref)
	l, err := leafFromRow(kind, tenant, ref, rowSpecs[kind], vals, nil)
	if err != nil {
		return // read back at commit instead
	}
	tl := v.(*txLog)
	if tl.known == nil {
		tl.known = map[logRef]receiptlog.Leaf{}
	}
	tl.known[logRef{kind, tenant, ref}] = l
}

// appendLog appends the leaves of the rows tl names, as they are now in
// tx, to the log: it locks the head (FOR UPDATE on PostgreSQL; SQLite's
// write transaction is exclusive already), so concurrent commits append
// one after the other, without gaps or forks. A row no longer there (an
// event forgotten as stale) gets no leaf; a mutable row whose content is
// the same as its last leaf gets none either. A mutable row found, before
// tx wrote it, differing from its last leaf (edited outside qyshook:
// tl.pre, logfound.go) gets a found-edited leaf of that content first,
// then its own leaf in any case.
func (s *DB) appendLog(ctx context.Context, tx *sql.Tx, tl *txLog) error {
	if len(tl.refs) == 0 {
		return nil
	}
	byKind := map[string][]logRef{}
	var mutable []logRef
	for _, r := range tl.refs {
		if _, ok := tl.known[r]; ok {
			continue
		}
		byKind[r.kind] = append(byKind[r.kind], r)
		if rowSpecs[r.kind].mutable {
			mutable = append(mutable, r)
		}
	}
	now := make(map[logRef]receiptlog.Leaf, len(tl.refs))
	for r, l := range tl.known {
		now[r] = l
	}
	for kind, refs := range byKind {
		got, err := s.rowLeaves(ctx, tx, kind, refs)
		if err != nil {
			return fmt.Errorf("receipt log: %w", err)
		}
		for r, l := range got {
			now[r] = l
		}
	}
	last, err := s.lastLeafHashes(ctx, tx, mutable)
	if err != nil {
		return fmt.Errorf("receipt log: %w", err)
	}
	var leaves []receiptlog.Leaf
	var found []int // positions in leaves of found-edited leaves
	for _, r := range tl.refs {
		l, ok := now[r]
		if !ok {
			continue
		}
		h, had := last[r]
		// The row as found before this transaction wrote it differs from
		// its last leaf: edited outside qyshook. Record what was found,
		// then the row's new leaf whatever it is.
		pre, noted := tl.pre[r]
		if noted && pre.exists && had && h != "" && pre.leaf.SHA256 != h {
			f := pre.leaf
			f.Found = receiptlog.FoundEdited
			found = append(found, len(leaves))
			leaves = append(leaves, f)
		} else if noted && !pre.exists && had && h != "" && neverDeleted[r.kind] {
			// No row before this transaction created it, yet the log
			// holds a leaf of it: deleted outside qyshook. Recorded,
			// then the new row's leaf whatever it is.
			found = append(found, len(leaves))
			leaves = append(leaves, receiptlog.Leaf{V: receiptlog.Version, Kind: r.kind, Tenant: r.tenant, Ref: r.ref,
				SHA256: h, Found: receiptlog.FoundDeleted})
		} else if had && h == l.SHA256 {
			continue
		}
		l.StreamSeq = tl.seq[r.ref]
		leaves = append(leaves, l)
	}
	if len(found) == 0 {
		return s.appendLeaves(ctx, tx, leaves)
	}
	size, err := s.appendLeavesAt(ctx, tx, leaves)
	if err != nil {
		return err
	}
	for _, i := range found {
		l := leaves[i]
		tl.found = append(tl.found, foundEdit{r: logRef{l.Kind, l.Tenant, l.Ref}, idx: size + int64(i), how: l.Found})
	}
	return nil
}

// appendLeaves appends leaves to the log in tx.
func (s *DB) appendLeaves(ctx context.Context, tx *sql.Tx, leaves []receiptlog.Leaf) error {
	_, err := s.appendLeavesAt(ctx, tx, leaves)
	return err
}

// appendLeavesAt is appendLeaves returning the index of the first leaf.
func (s *DB) appendLeavesAt(ctx context.Context, tx *sql.Tx, leaves []receiptlog.Leaf) (int64, error) {
	if len(leaves) == 0 {
		return 0, nil
	}
	// What needs no lock first: the head is locked until the commit ends.
	bs := make([][]byte, len(leaves))
	hs := make([]tlog.Hash, len(leaves))
	for i, l := range leaves {
		var err error
		if bs[i], err = l.Marshal(); err != nil {
			return 0, err
		}
		hs[i] = receiptlog.Hash(bs[i])
	}
	var size int64
	var frontier []byte
	if err := tx.QueryRowContext(ctx, `SELECT size, frontier FROM log_head WHERE id = 1`+s.d.LockRow).
		Scan(&size, &frontier); err != nil {
		return 0, fmt.Errorf("receipt log: lock head: %w", err)
	}
	f, err := receiptlog.DecodeFrontier(size, frontier)
	if err != nil {
		return 0, fmt.Errorf("receipt log: head: %w", err)
	}
	stored, err := f.Append(hs)
	if err != nil {
		return 0, err
	}
	if err := s.insertLogRows(ctx, tx, size, leaves, bs, stored); err != nil {
		return 0, err
	}
	head, err := f.Tree()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE log_head SET size = ?, root = ?, frontier = ?, updated_at = ? WHERE id = 1`),
		head.N, head.Hash[:], f.Encode(), s.timeArg(s.now())); err != nil {
		return 0, fmt.Errorf("receipt log: update head: %w", err)
	}
	if err := s.queueEvidence(ctx, tx, leaves, size); err != nil {
		return 0, err
	}
	return size, nil
}

// insertLogRows inserts the leaves (their bytes bs, the first at index
// first) and the stored hashes of one append. PostgreSQL gets one
// statement per table whatever their number, the columns as arrays
// (unnest): a VALUES list of thousands of rows costs it more to parse
// and plan than to insert, and its text, new for each count, is never
// reused. SQLite, without arrays, gets VALUES lists.
func (s *DB) insertLogRows(ctx context.Context, tx *sql.Tx, first int64, leaves []receiptlog.Leaf, bs [][]byte, stored []receiptlog.StoredHash) error {
	if s.d.Driver == "pgx" {
		idx := make([]int64, len(leaves))
		kinds, tenants, refs, texts := make([]string, len(leaves)), make([]string, len(leaves)), make([]string, len(leaves)), make([]string, len(leaves))
		for i, l := range leaves {
			idx[i], kinds[i], tenants[i], refs[i], texts[i] = first+int64(i), l.Kind, l.Tenant, l.Ref, string(bs[i])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_leaves (idx, kind, tenant, ref, leaf)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])`, idx, kinds, tenants, refs, texts); err != nil {
			return fmt.Errorf("receipt log: insert leaves: %w", err)
		}
		hidx, hashes := make([]int64, len(stored)), make([][]byte, len(stored))
		for i, h := range stored {
			hidx[i], hashes[i] = h.Index, h.Hash[:]
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, hidx, hashes); err != nil {
			return fmt.Errorf("receipt log: insert hashes: %w", err)
		}
		return nil
	}
	err := chunks(len(leaves), 5, func(lo, hi int) error {
		args := make([]any, 0, 5*(hi-lo))
		for i := lo; i < hi; i++ {
			args = append(args, first+int64(i), leaves[i].Kind, leaves[i].Tenant, leaves[i].Ref, string(bs[i]))
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO log_leaves (idx, kind, tenant, ref, leaf) VALUES `+rows(hi-lo, 5)), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("receipt log: insert leaves: %w", err)
	}
	err = chunks(len(stored), 2, func(lo, hi int) error {
		args := make([]any, 0, 2*(hi-lo))
		for _, h := range stored[lo:hi] {
			args = append(args, h.Index, h.Hash[:])
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO log_hashes (idx, hash) VALUES `+rows(hi-lo, 2)), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("receipt log: insert hashes: %w", err)
	}
	return nil
}

// LogHead implements store.ReceiptLog: the committed tree (only leaves
// whose commit ended are in it).
func (s *DB) LogHead(ctx context.Context) (tlog.Tree, error) {
	return s.logHead(ctx, s.reader)
}

func (s *DB) logHead(ctx context.Context, q querier) (tlog.Tree, error) {
	var t tlog.Tree
	var root []byte
	if err := q.QueryRowContext(ctx, `SELECT size, root FROM log_head WHERE id = 1`).Scan(&t.N, &root); err != nil {
		return tlog.Tree{}, s.fail("log head", err)
	}
	if t.N > 0 {
		if len(root) != tlog.HashSize {
			return tlog.Tree{}, fmt.Errorf("ledger: log head: root of %d bytes", len(root))
		}
		copy(t.Hash[:], root)
	}
	return t, nil
}

// hashReader reads stored hashes through q.
func (s *DB) hashReader(ctx context.Context, q querier) tlog.HashReaderFunc {
	return func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		if len(idx) == 0 {
			return out, nil
		}
		args := make([]any, len(idx))
		for i, x := range idx {
			args[i] = x
		}
		rows, err := q.QueryContext(ctx, s.q(`SELECT idx, hash FROM log_hashes WHERE idx IN (`+placeholders(len(idx))+`)`), args...)
		if err != nil {
			return nil, s.fail("read log hashes", err)
		}
		defer rows.Close()
		got := map[int64]tlog.Hash{}
		for rows.Next() {
			var i int64
			var b []byte
			if err := rows.Scan(&i, &b); err != nil {
				return nil, s.fail("read log hashes", err)
			}
			var h tlog.Hash
			copy(h[:], b)
			got[i] = h
		}
		if err := rows.Err(); err != nil {
			return nil, s.fail("read log hashes", err)
		}
		for i, x := range idx {
			h, ok := got[x]
			if !ok {
				return nil, fmt.Errorf("ledger: stored hash %d is missing", x)
			}
			out[i] = h
		}
		return out, nil
	}
}

// LogLeaf implements store.ReceiptLog; store.ErrNotFound when the log has
// no leaf idx.
func (s *DB) LogLeaf(ctx context.Context, idx int64) (store.LogLeaf, error) {
	var l store.LogLeaf
	var b string
	err := s.reader.QueryRowContext(ctx, s.q(`SELECT idx, kind, tenant, ref, leaf FROM log_leaves WHERE idx = ?`), idx).
		Scan(&l.Index, &l.Kind, &l.Tenant, &l.Ref, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return l, s.fail(fmt.Sprintf("log leaf %d", idx), store.ErrNotFound)
	}
	if err != nil {
		return l, s.fail(fmt.Sprintf("log leaf %d", idx), err)
	}
	l.Leaf = []byte(b)
	return l, nil
}

// LogLeaves implements store.ReceiptLog: the leaves of one row, oldest
// first (at most limit; <= 0: all).
func (s *DB) LogLeaves(ctx context.Context, kind, tenant, ref string, limit int) ([]store.LogLeaf, error) {
	query := `SELECT idx, kind, tenant, ref, leaf FROM log_leaves WHERE kind = ? AND ref = ?`
	args := []any{kind, ref}
	if tenant != "" {
		query += ` AND tenant = ?`
		args = append(args, tenant)
	}
	rows, err := s.reader.QueryContext(ctx, s.q(query+` ORDER BY idx`+limitClause(limit)), args...)
	if err != nil {
		return nil, s.fail("log leaves of "+ref, err)
	}
	defer rows.Close()
	var out []store.LogLeaf
	for rows.Next() {
		var l store.LogLeaf
		var b string
		if err := rows.Scan(&l.Index, &l.Kind, &l.Tenant, &l.Ref, &b); err != nil {
			return nil, s.fail("log leaves of "+ref, err)
		}
		l.Leaf = []byte(b)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("log leaves of "+ref, err)
	}
	return out, nil
}

// LogInclusion implements store.ReceiptLog: the proof of leaf idx in the
// tree of size treeSize (0: the head).
func (s *DB) LogInclusion(ctx context.Context, idx, treeSize int64) (tlog.Tree, tlog.RecordProof, error) {
	t, err := s.treeAt(ctx, treeSize)
	if err != nil {
		return tlog.Tree{}, nil, err
	}
	p, err := receiptlog.ProveInclusion(t, idx, s.hashReader(ctx, s.reader))
	if err != nil {
		return tlog.Tree{}, nil, s.fail("log inclusion proof", err)
	}
	return t, p, nil
}

// LogConsistency implements store.ReceiptLog: the proof that the tree of
// oldSize leaves is a prefix of the tree of newSize (0: the head).
func (s *DB) LogConsistency(ctx context.Context, oldSize, newSize int64) (old, cur tlog.Tree, p tlog.TreeProof, err error) {
	if cur, err = s.treeAt(ctx, newSize); err != nil {
		return
	}
	if old, err = s.treeAt(ctx, oldSize); err != nil {
		return
	}
	if old.N > cur.N {
		err = fmt.Errorf("ledger: log consistency: old size %d is larger than %d", old.N, cur.N)
		return
	}
	if p, err = receiptlog.ProveConsistency(cur, old.N, s.hashReader(ctx, s.reader)); err != nil {
		err = s.fail("log consistency proof", err)
	}
	return
}

// treeAt is the tree of n leaves (0: the head), its root computed from
// the stored hashes.
func (s *DB) treeAt(ctx context.Context, n int64) (tlog.Tree, error) {
	head, err := s.LogHead(ctx)
	if err != nil {
		return tlog.Tree{}, err
	}
	if n == 0 || n == head.N {
		return head, nil
	}
	if n < 0 || n > head.N {
		return tlog.Tree{}, fmt.Errorf("ledger: the log has %d leaves, not %d", head.N, n)
	}
	h, err := tlog.TreeHash(n, s.hashReader(ctx, s.reader))
	if err != nil {
		return tlog.Tree{}, s.fail(fmt.Sprintf("log tree %d", n), err)
	}
	return tlog.Tree{N: n, Hash: h}, nil
}

// prunedContent is what a prune leaf's SHA256 covers: the rows deleted,
// as [tenant, ref] pairs in byte order.
func prunedContent(refs []logRef) (string, error) {
	pairs := make([][2]string, len(refs))
	for i, r := range refs {
		pairs[i] = [2]string{r.tenant, r.ref}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	return receiptlog.RowHash(pairs)
}

// logPruned records in tx that the rows refs (all of one kind) were
// deleted on purpose (retention, a dead-letter purge): one prune leaf,
// and the rows in log_pruned naming it, so verify --log does not take
// them for rows deleted behind qyshook's back.
func (s *DB) logPruned(ctx context.Context, tx *sql.Tx, kind string, refs []logRef) error {
	if s.noLog || len(refs) == 0 {
		return nil
	}
	sum, err := prunedContent(refs)
	if err != nil {
		return err
	}
	var idx int64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM log_head WHERE id = 1`+s.d.LockRow).Scan(&idx); err != nil {
		return fmt.Errorf("receipt log: lock head: %w", err)
	}
	leaf := receiptlog.Leaf{V: receiptlog.Version, Kind: receiptlog.KindPrune, Ref: kind, SHA256: sum, Size: int64(len(refs))}
	if err := s.appendLeaves(ctx, tx, []receiptlog.Leaf{leaf}); err != nil {
		return err
	}
	return chunks(len(refs), 4, func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, r := range refs[lo:hi] {
			args = append(args, kind, r.tenant, r.ref, idx)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO log_pruned (kind, tenant, ref, leaf_idx) VALUES `+rows(hi-lo, 4)+
			` ON CONFLICT (kind, tenant, ref) DO UPDATE SET leaf_idx = excluded.leaf_idx`), args...)
		if err != nil {
			return fmt.Errorf("receipt log: record pruned rows: %w", err)
		}
		return nil
	})
}

// deleteLogged runs a DELETE … RETURNING tenant, ref in tx and records
// the rows it deleted (logPruned); it returns how many.
func (s *DB) deleteLogged(ctx context.Context, tx *sql.Tx, kind, query string, args ...any) (int64, error) {
	rs, err := tx.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return 0, err
	}
	var refs []logRef
	for rs.Next() {
		var r logRef
		var ref any
		if err := rs.Scan(&r.tenant, &ref); err != nil {
			rs.Close()
			return 0, err
		}
		r.kind, r.ref = kind, fmt.Sprint(normValue(ref))
		refs = append(refs, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	return int64(len(refs)), s.logPruned(ctx, tx, kind, refs)
}
