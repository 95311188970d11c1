package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// A row edited by hand and then written again honestly would get a leaf
// of its edited content, and verify --log (which compares each row with
// its last leaf) would be satisfied: the edit laundered into the log. So
// each write path notes, before its first write of a mutable row in a
// transaction, the row's leaf as it is then (its pre-image); at commit
// appendLog compares it with the row's last leaf and, when they differ,
// appends a found-edited leaf (receiptlog.FoundEdited) of the content
// found before the row's new leaf. verify --log reports every such leaf.

// preImage is a mutable row's leaf before the transaction first wrote it.
type preImage struct {
	leaf   receiptlog.Leaf
	exists bool // false: there was no row
}

var _ store.LogEditFinder = (*DB)(nil)

// FoundEdited implements store.LogEditFinder.
func (s *DB) FoundEdited() int64 { return s.foundEdited.Load() }

// OnFoundEdited implements store.LogEditFinder.
func (s *DB) OnFoundEdited(f func(store.LogProblem)) {
	if f == nil {
		s.onFound.Store(nil)
		return
	}
	s.onFound.Store(&f)
}

// txLogOf is tx's txLog (nil when tx writes no log).
func (s *DB) txLogOf(tx *sql.Tx) *txLog {
	v, ok := s.logs.Load(tx)
	if !ok {
		return nil
	}
	return v.(*txLog)
}

// notePre records r's pre-image, unless one was recorded already (the
// first write of the row in the transaction is the one that counts).
func (tl *txLog) notePre(r logRef, l receiptlog.Leaf, exists bool) {
	if _, ok := tl.pre[r]; ok {
		return
	}
	if tl.pre == nil {
		tl.pre = map[logRef]preImage{}
	}
	tl.pre[r] = preImage{leaf: l, exists: exists}
}

// readPre reads, in one query (two for contracts: their signatories), the
// pre-images of the rows (kind, tenant, ref) of refs tx has not noted yet.
// Call it before tx writes them.
func (s *DB) readPre(ctx context.Context, tx *sql.Tx, kind, tenant string, refs ...string) error {
	tl := s.txLogOf(tx)
	if tl == nil {
		return nil
	}
	var want []logRef
	for _, ref := range refs {
		r := logRef{kind, tenant, ref}
		if _, ok := tl.pre[r]; !ok {
			want = append(want, r)
		}
	}
	return s.readPreRefs(ctx, tx, tl, kind, want)
}

// readDocsPre is readPre for documents of several tenants (keys are
// (tenant, id)): one query for all.
func (s *DB) readDocsPre(ctx context.Context, tx *sql.Tx, keys [][2]string) error {
	tl := s.txLogOf(tx)
	if tl == nil || len(keys) == 0 {
		return nil
	}
	var want []logRef
	for _, k := range keys {
		r := logRef{receiptlog.KindDocument, k[0], k[1]}
		if _, ok := tl.pre[r]; !ok {
			want = append(want, r)
		}
	}
	return s.readPreRefs(ctx, tx, tl, receiptlog.KindDocument, want)
}

func (s *DB) readPreRefs(ctx context.Context, tx *sql.Tx, tl *txLog, kind string, want []logRef) error {
	if len(want) == 0 {
		return nil
	}
	// Locked (PostgreSQL), as the write would lock them: a transaction
	// committing a change of one of them between this read and the write
	// would otherwise be taken for an edit.
	got, err := s.rowLeavesLock(ctx, tx, kind, want, s.d.LockRow)
	if err != nil {
		return fmt.Errorf("receipt log: read %s rows before writing them: %w", kind, err)
	}
	for _, r := range want {
		l, ok := got[r]
		tl.notePre(r, l, ok)
	}
	return nil
}

// foundEdit is a found-edited or found-deleted leaf a commit appended.
type foundEdit struct {
	r   logRef
	idx int64
	how string // receiptlog.FoundEdited or FoundDeleted
}

// neverDeleted are the mutable kinds whose rows qyshook never deletes
// and whose write paths note a row they create (noteCreated, or readPre
// finding none under the contract's lock): a transaction that creates one
// the log already holds a leaf of found it deleted outside qyshook. (Dead
// letters are deleted by qyshook, logged, and SQLite may give a new one
// the id of the last one purged. Certifications are upserted after a
// read that, on PostgreSQL, locks nothing when there is no row: a
// concurrent dispatcher's insert would be taken for a deletion.)
var neverDeleted = map[string]bool{receiptlog.KindContract: true, receiptlog.KindDocument: true}

// noteCreated records that tx created the row r (there was none before):
// its pre-image is "no row".
func (s *DB) noteCreated(tx *sql.Tx, kind, tenant, ref string) {
	if tl := s.txLogOf(tx); tl != nil {
		tl.notePre(logRef{kind, tenant, ref}, receiptlog.Leaf{}, false)
	}
}

// found is the problem line verify --log gives a found leaf.
func (f foundEdit) problem() store.LogProblem {
	how := "edited"
	if f.how == receiptlog.FoundDeleted {
		how = "deleted"
	}
	return store.LogProblem{What: f.r.kind + " " + refName(f.r.tenant, f.r.ref), Leaf: f.idx,
		Problem: fmt.Sprintf("%s outside qyshook before leaf %d (found at commit)", how, f.idx)}
}

// reportFound counts the found-edited leaves of a committed transaction
// and hands them to the OnFoundEdited function.
func (s *DB) reportFound(tl *txLog) {
	if len(tl.found) == 0 {
		return
	}
	s.foundEdited.Add(int64(len(tl.found)))
	if f := s.onFound.Load(); f != nil {
		for _, fe := range tl.found {
			(*f)(fe.problem())
		}
	}
}

// rawCol scans a column into dst and keeps what the driver gave
// (normValue'd) in raw: the batch path builds a contract's pre-image from
// the row it reads anyway.
type rawCol[T any] struct {
	dst  *T
	raw  *any
	null bool // NULL allowed (dst gets its zero value)
}

func (c rawCol[T]) Scan(v any) error {
	*c.raw = normValue(v)
	var n sql.Null[T]
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid && !c.null {
		return fmt.Errorf("converting NULL to %T is unsupported", *c.dst)
	}
	*c.dst = n.V
	return nil
}

// rawScanner is rawCol for a destination that scans itself.
type rawScanner struct {
	sc  sql.Scanner
	raw *any
}

func (c rawScanner) Scan(v any) error {
	*c.raw = normValue(v)
	return c.sc.Scan(v)
}

// discard is a destination that keeps nothing (rawScanner keeps it).
type discard struct{}

func (discard) Scan(any) error { return nil }

// contractPre builds a contract's pre-image leaf from the values read of
// its row (in rowSpecs' column order) and of its signatories (each in
// signatoriesOf's column order, any order: sorted here as it sorts them).
func contractPre(tenant, id string, vals []any, sigs [][]any) (receiptlog.Leaf, error) {
	sort.SliceStable(sigs, func(i, j int) bool {
		a, _ := sigs[i][0].(string)
		b, _ := sigs[j][0].(string)
		return a < b
	})
	return leafFromRow(receiptlog.KindContract, tenant, id, rowSpecs[receiptlog.KindContract], vals, sigs)
}
