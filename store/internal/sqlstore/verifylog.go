package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

var _ store.LogVerifier = (*DB)(nil)

// VerifyLog implements store.LogVerifier, in one read transaction (a
// snapshot on PostgreSQL and SQLite), so commits going on meanwhile are
// not taken for changes.
func (s *DB) VerifyLog(ctx context.Context, o store.LogVerifyOptions, report func(store.LogProblem)) (store.LogVerifySummary, error) {
	opts := &sql.TxOptions{ReadOnly: true} // SQLite: a deferred BEGIN, a snapshot from the first read
	if s.d.Numbered {                      // PostgreSQL
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.reader.BeginTx(ctx, opts)
	if err != nil {
		return store.LogVerifySummary{}, s.fail("verify log: begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	return VerifyLogIn(ctx, s, tx, o, report)
}

// VerifyLogIn is VerifyLog reading through tx: a tamper test changes rows
// in tx, verifies and rolls back.
func VerifyLogIn(ctx context.Context, s *DB, tx *sql.Tx, o store.LogVerifyOptions, report func(store.LogProblem)) (store.LogVerifySummary, error) {
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	v := &logVerify{s: s, q: tx, o: o}
	v.report = func(p store.LogProblem) {
		v.sum.Problems++
		report(p)
	}
	for _, step := range []func(context.Context) error{v.tree, v.rows, v.deleted, v.prunes} {
		if err := step(ctx); err != nil {
			return v.sum, s.fail("verify log", err)
		}
	}
	return v.sum, nil
}

type logVerify struct {
	s           *DB
	q           querier
	o           store.LogVerifyOptions
	report      func(store.LogProblem)
	sum         store.LogVerifySummary
	pruneLeaves []int64 // indexes of the prune leaves (few: one per retention batch)
}

func (v *logVerify) problem(what string, leaf int64, format string, args ...any) {
	v.report(store.LogProblem{What: what, Leaf: leaf, Problem: fmt.Sprintf(format, args...)})
}

// hashStream reads log_hashes in index order, a page at a time.
type hashStream struct {
	v    *logVerify
	page []receiptlog.StoredHash
	pos  int
	last int64
	done bool
}

// next returns the stored hash at want, or ok false when it is missing;
// hashes before want that were not asked for are reported as strays.
func (h *hashStream) next(ctx context.Context, want int64) (tlog.Hash, bool, error) {
	for {
		if h.pos == len(h.page) {
			if h.done {
				return tlog.Hash{}, false, nil
			}
			if err := h.fill(ctx); err != nil {
				return tlog.Hash{}, false, err
			}
			continue
		}
		sh := h.page[h.pos]
		switch {
		case sh.Index < want:
			h.pos++
			h.v.problem("stored hash "+strconv.FormatInt(sh.Index, 10), -1, "no leaf needs it (a leaf before it was deleted)")
		case sh.Index == want:
			h.pos++
			h.v.sum.Hashes++
			return sh.Hash, true, nil
		default:
			return tlog.Hash{}, false, nil
		}
	}
}

func (h *hashStream) fill(ctx context.Context) error {
	rows, err := h.v.q.QueryContext(ctx, h.v.s.q(`SELECT idx, hash FROM log_hashes WHERE idx > ? ORDER BY idx`+
		limitClause(h.v.o.PageSize)), h.last)
	if err != nil {
		return fmt.Errorf("read stored hashes: %w", err)
	}
	defer rows.Close()
	h.page, h.pos = h.page[:0], 0
	for rows.Next() {
		var sh receiptlog.StoredHash
		var b []byte
		if err := rows.Scan(&sh.Index, &b); err != nil {
			return fmt.Errorf("read stored hashes: %w", err)
		}
		copy(sh.Hash[:], b)
		if len(b) != tlog.HashSize {
			sh.Hash = tlog.Hash{} // reported as a disagreement
		}
		h.page = append(h.page, sh)
		h.last = sh.Index
	}
	if len(h.page) < h.v.o.PageSize {
		h.done = true
	}
	return rows.Err()
}

type storedLeaf struct {
	idx               int64
	kind, tenant, ref string
	leaf              []byte
}

// tree rebuilds the tree from the leaves: each leaf's bytes against its
// stored record hash, each stored hash against the hashes below it, the
// root against the head. The rebuild goes on from the stored record hash
// where there is one, so one damaged leaf is one problem, not a cascade.
func (v *logVerify) tree(ctx context.Context) error {
	head, err := v.s.logHead(ctx, v.q)
	if err != nil {
		return err
	}
	v.sum.Head = head
	f, _ := receiptlog.NewFrontier(0, nil)
	hs := &hashStream{v: v, last: -1}
	var next int64
	last := int64(-1)
	for {
		page, err := v.leafPage(ctx, last)
		if err != nil {
			return err
		}
		for _, l := range page {
			for ; next < l.idx; next++ {
				v.problem("leaf "+strconv.FormatInt(next, 10), next, "missing (deleted from log_leaves)")
				if err := v.appendRecord(ctx, f, hs, next, tlog.Hash{}, false); err != nil {
					return err
				}
			}
			v.sum.Leaves++
			parsed, err := receiptlog.Parse(l.leaf)
			name := fmt.Sprintf("leaf %d (%s %s)", l.idx, l.kind, refName(l.tenant, l.ref))
			switch {
			case err != nil:
				v.problem(name, l.idx, "bytes are not a leaf: %v", err)
			case parsed.Kind != l.kind || parsed.Tenant != l.tenant || parsed.Ref != l.ref:
				v.problem(name, l.idx, "its columns say %s %s but its bytes %s %s", l.kind, refName(l.tenant, l.ref),
					parsed.Kind, refName(parsed.Tenant, parsed.Ref))
			case parsed.Kind == receiptlog.KindPrune:
				v.pruneLeaves = append(v.pruneLeaves, l.idx)
			case parsed.Found != "":
				// A commit found the row differing from its last leaf:
				// reported for ever, whatever the row says now.
				v.report(foundEdit{r: logRef{parsed.Kind, parsed.Tenant, parsed.Ref}, idx: l.idx, how: parsed.Found}.problem())
			}
			if err := v.appendRecord(ctx, f, hs, l.idx, receiptlog.Hash(l.leaf), true); err != nil {
				return err
			}
			next = l.idx + 1
		}
		if len(page) < v.o.PageSize {
			break
		}
		last = page[len(page)-1].idx
	}
	for ; next < head.N; next++ {
		v.problem("leaf "+strconv.FormatInt(next, 10), next, "missing (deleted from log_leaves)")
		if err := v.appendRecord(ctx, f, hs, next, tlog.Hash{}, false); err != nil {
			return err
		}
	}
	if _, ok, err := hs.next(ctx, 1<<62); err != nil {
		return err
	} else if ok {
		v.problem("stored hashes", -1, "beyond the last leaf")
	}
	rebuilt, err := f.Tree()
	if err != nil {
		return err
	}
	v.sum.Rebuilt = rebuilt
	if rebuilt != head {
		v.problem("head", -1, "says %d leaves, root %s; the leaves rebuild %d, root %s", head.N, head.Hash, rebuilt.N, rebuilt.Hash)
	}
	return nil
}

// appendRecord appends record n to the rebuilt tree and compares the
// stored hashes it yields with log_hashes. have: leafHash is the leaf's.
func (v *logVerify) appendRecord(ctx context.Context, f *receiptlog.Frontier, hs *hashStream, n int64, leafHash tlog.Hash, have bool) error {
	i0 := tlog.StoredHashIndex(0, n)
	stored, ok, err := hs.next(ctx, i0)
	if err != nil {
		return err
	}
	rec := leafHash
	switch {
	case ok && have && stored != leafHash:
		v.problem("leaf "+strconv.FormatInt(n, 10), n, "its bytes do not hash to its stored record hash %d (the leaf or the hash was changed)", i0)
		rec = stored
	case ok:
		rec = stored
	case have:
		v.problem("stored hash "+strconv.FormatInt(i0, 10), n, "missing (leaf %d's record hash)", n)
	}
	out, err := f.Append([]tlog.Hash{rec})
	if err != nil {
		return err
	}
	for _, sh := range out[1:] {
		got, ok, err := hs.next(ctx, sh.Index)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			v.problem("stored hash "+strconv.FormatInt(sh.Index, 10), n, "missing")
		case got != sh.Hash:
			v.problem("stored hash "+strconv.FormatInt(sh.Index, 10), n, "disagrees with the hashes below it")
		}
	}
	return nil
}

func (v *logVerify) leafPage(ctx context.Context, after int64) ([]storedLeaf, error) {
	rows, err := v.q.QueryContext(ctx, v.s.q(`SELECT idx, kind, tenant, ref, leaf FROM log_leaves WHERE idx > ? ORDER BY idx`+
		limitClause(v.o.PageSize)), after)
	if err != nil {
		return nil, fmt.Errorf("read leaves: %w", err)
	}
	defer rows.Close()
	var out []storedLeaf
	for rows.Next() {
		var l storedLeaf
		var b string
		if err := rows.Scan(&l.idx, &l.kind, &l.tenant, &l.ref, &b); err != nil {
			return nil, fmt.Errorf("read leaves: %w", err)
		}
		l.leaf = []byte(b)
		out = append(out, l)
	}
	return out, rows.Err()
}

func refName(tenant, ref string) string {
	if tenant == "" {
		return ref
	}
	return tenant + "/" + ref
}

// rowKey is one row of a page: its tenant and ref as a leaf names them.
type rowKey struct{ tenant, ref string }

// keyPage reads the keys of spec's table after `after` (nil: from the
// start), in byte order.
func (v *logVerify) keyPage(ctx context.Context, spec rowSpec, after *rowKey) ([]rowKey, error) {
	tcol := "''"
	if spec.tenantCol != "" {
		tcol = spec.tenantCol
	}
	// The column's own collation for both the order and the keyset
	// comparison: one total order (PostgreSQL's are deterministic), and
	// the one its index is in, so a page reads only its rows.
	col := spec.refCol
	order, cmp := col, col
	var args []any
	where := ""
	if spec.paired {
		order = spec.tenantCol + ", " + order
		if after != nil {
			where = ` WHERE (` + spec.tenantCol + `, ` + cmp + `) > (?, ?)`
			args = append(args, after.tenant, after.ref)
		}
	} else if after != nil {
		where = ` WHERE ` + cmp + ` > ?`
		if spec.numeric {
			n, _ := strconv.ParseInt(after.ref, 10, 64)
			args = append(args, n)
		} else {
			args = append(args, after.ref)
		}
	}
	rows, err := v.q.QueryContext(ctx, v.s.q(`SELECT `+tcol+`, `+col+` FROM `+spec.table+where+` ORDER BY `+order+
		limitClause(v.o.PageSize)), args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", spec.table, err)
	}
	defer rows.Close()
	var out []rowKey
	for rows.Next() {
		var k rowKey
		var ref any
		if err := rows.Scan(&k.tenant, &ref); err != nil {
			return nil, fmt.Errorf("read %s: %w", spec.table, err)
		}
		k.ref = fmt.Sprint(normValue(ref))
		out = append(out, k)
	}
	return out, rows.Err()
}

// lastLeaf is the last leaf of a row: idx -1 when there is none, ok
// false when its bytes do not parse (tree reports that).
func (v *logVerify) lastLeaf(ctx context.Context, kind string, k rowKey) (idx int64, l receiptlog.Leaf, ok bool, err error) {
	var b string
	err = v.q.QueryRowContext(ctx, v.s.q(`SELECT idx, leaf FROM log_leaves WHERE kind = ? AND tenant = ? AND ref = ?
		ORDER BY idx DESC LIMIT 1`), kind, k.tenant, k.ref).Scan(&idx, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return -1, l, false, nil
	}
	if err != nil {
		return 0, l, false, fmt.Errorf("last leaf of %s %s: %w", kind, k.ref, err)
	}
	l, perr := receiptlog.Parse([]byte(b))
	if perr != nil {
		return idx, l, false, nil
	}
	return idx, l, true, nil
}

// rows recomputes the leaf of every row and compares it with the row's
// last leaf: a row edited, or written outside qyshook, is named. A page
// of rows costs a few statements (rowLeaves, lastLeaves), not one each.
func (v *logVerify) rows(ctx context.Context) error {
	for _, kind := range logKinds {
		spec := rowSpecs[kind]
		var after *rowKey
		for {
			page, err := v.keyPage(ctx, spec, after)
			if err != nil {
				return err
			}
			if err := v.rowPage(ctx, kind, page); err != nil {
				return err
			}
			if len(page) < v.o.PageSize {
				break
			}
			after = &page[len(page)-1]
		}
	}
	return nil
}

func (v *logVerify) rowPage(ctx context.Context, kind string, page []rowKey) error {
	refs := make([]logRef, len(page))
	for i, k := range page {
		refs[i] = logRef{kind, k.tenant, k.ref}
	}
	now, err := v.s.rowLeaves(ctx, v.q, kind, refs)
	if err != nil {
		return err
	}
	last, err := v.s.lastLeaves(ctx, v.q, refs)
	if err != nil {
		return err
	}
	for i, r := range refs {
		cur, found := now[r]
		if !found {
			continue // gone between the page and now: not in a snapshot
		}
		v.sum.Rows++
		name := kind + " " + refName(r.tenant, r.ref)
		ll, ok := last[r]
		if !ok {
			v.problem(name, -1, "not in the log (written outside qyshook)")
			continue
		}
		stored, err := receiptlog.Parse(ll.leaf)
		if err != nil {
			v.problem(name, ll.idx, "its last leaf %d is damaged; the row cannot be checked", ll.idx)
			continue
		}
		cur.StreamSeq = stored.StreamSeq
		cur.Found = stored.Found // a found-edited leaf is reported as such (tree)
		if cur != stored {
			v.problem(name, ll.idx, "edited after leaf %d (row hash %s, leaf says %s)", ll.idx, short(cur.SHA256), short(stored.SHA256))
		}
		if kind == receiptlog.KindDocument && stored.BodySHA256 != "" && v.o.DataDir != "" {
			if err := v.file(ctx, name, ll.idx, page[i], stored); err != nil {
				return err
			}
		}
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// file hashes an archived document's file and compares it with its leaf.
func (v *logVerify) file(ctx context.Context, name string, idx int64, k rowKey, l receiptlog.Leaf) error {
	var path string
	if err := v.q.QueryRowContext(ctx, v.s.q(`SELECT path FROM documents WHERE tenant = ? AND id = ?`), k.tenant, k.ref).
		Scan(&path); err != nil {
		return fmt.Errorf("read path of %s: %w", name, err)
	}
	if path == "" {
		return nil
	}
	v.sum.Files++
	what := "file " + path
	fh, err := os.Open(filepath.Join(v.o.DataDir, filepath.FromSlash(path)))
	if err != nil {
		v.problem(what, idx, "cannot be read (%v); %s leaf %d says sha256 %s", errors.Unwrap(err), name, idx, short(l.BodySHA256))
		return nil
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		v.problem(what, idx, "cannot be read: %v", err)
		return nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if sum != l.BodySHA256 || n != l.Size {
		v.problem(what, idx, "changed: %d bytes, sha256 %s; %s leaf %d says %d bytes, sha256 %s",
			n, short(sum), name, idx, l.Size, short(l.BodySHA256))
	}
	return nil
}

// deleted walks the rows the log names and reports those gone without a
// prune leaf saying so, a page of them at a time.
func (v *logVerify) deleted(ctx context.Context) error {
	for _, kind := range logKinds {
		var after *rowKey
		for {
			page, err := v.loggedPage(ctx, kind, after)
			if err != nil {
				return err
			}
			if err := v.gonePage(ctx, kind, page); err != nil {
				return err
			}
			if len(page) < v.o.PageSize {
				break
			}
			after = &page[len(page)-1]
		}
	}
	return nil
}

func (v *logVerify) gonePage(ctx context.Context, kind string, page []rowKey) error {
	refs := make([]logRef, len(page))
	for i, k := range page {
		refs[i] = logRef{kind, k.tenant, k.ref}
	}
	there, err := v.s.existing(ctx, v.q, kind, refs)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if !there[r] {
			if err := v.gone(ctx, kind, rowKey{r.tenant, r.ref}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (v *logVerify) loggedPage(ctx context.Context, kind string, after *rowKey) ([]rowKey, error) {
	// In the index's collation (see keyPage).
	query := `SELECT tenant, ref FROM log_leaves WHERE kind = ?`
	args := []any{kind}
	if after != nil {
		query += ` AND (tenant, ref) > (?, ?)`
		args = append(args, after.tenant, after.ref)
	}
	rows, err := v.q.QueryContext(ctx, v.s.q(query+` GROUP BY tenant, ref ORDER BY tenant, ref`+limitClause(v.o.PageSize)), args...)
	if err != nil {
		return nil, fmt.Errorf("read logged %s rows: %w", kind, err)
	}
	defer rows.Close()
	var out []rowKey
	for rows.Next() {
		var k rowKey
		if err := rows.Scan(&k.tenant, &k.ref); err != nil {
			return nil, fmt.Errorf("read logged %s rows: %w", kind, err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// gone reports a row the log names that is not there, unless a prune
// leaf records its deletion.
func (v *logVerify) gone(ctx context.Context, kind string, k rowKey) error {
	var pruned int64
	err := v.q.QueryRowContext(ctx, v.s.q(`SELECT leaf_idx FROM log_pruned WHERE kind = ? AND tenant = ? AND ref = ?`),
		kind, k.tenant, k.ref).Scan(&pruned)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("look up pruned %s %s: %w", kind, k.ref, err)
	}
	found := err == nil
	idx, _, _, err := v.lastLeaf(ctx, kind, k)
	if err != nil {
		return err
	}
	if found {
		// The log_pruned row counts only when it names a prune leaf of
		// this kind appended after the row's last leaf (prunes checks
		// that leaf's list): a row inserted there by hand names another
		// leaf, or a prune of another table.
		why, err := v.pruneLeafFor(ctx, kind, pruned, idx)
		if err != nil {
			return err
		}
		if why == "" {
			v.sum.Pruned++
			return nil
		}
		v.problem(kind+" "+refName(k.tenant, k.ref), idx, "deleted (its last leaf is %d; log_pruned names leaf %d, %s)", idx, pruned, why)
		return nil
	}
	v.problem(kind+" "+refName(k.tenant, k.ref), idx, "deleted (its last leaf is %d; no prune leaf records it)", idx)
	return nil
}

// pruneLeafFor says why leaf pruned does not record the deletion of a row
// of kind whose last leaf is last ("" when it does).
func (v *logVerify) pruneLeafFor(ctx context.Context, kind string, pruned, last int64) (string, error) {
	if pruned <= last {
		return "which is not after it", nil
	}
	var b string
	err := v.q.QueryRowContext(ctx, v.s.q(`SELECT leaf FROM log_leaves WHERE idx = ?`), pruned).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return "which is not in the log", nil
	}
	if err != nil {
		return "", fmt.Errorf("read prune leaf %d: %w", pruned, err)
	}
	l, err := receiptlog.Parse([]byte(b))
	if err != nil || l.Kind != receiptlog.KindPrune || l.Ref != kind {
		return "which is not a prune leaf of " + kind + " rows", nil
	}
	return "", nil
}

// prunes recomputes every prune leaf from the rows log_pruned lists for it.
func (v *logVerify) prunes(ctx context.Context) error {
	for _, idx := range v.pruneLeaves {
		var b string
		if err := v.q.QueryRowContext(ctx, v.s.q(`SELECT leaf FROM log_leaves WHERE idx = ?`), idx).Scan(&b); err != nil {
			return fmt.Errorf("read prune leaf %d: %w", idx, err)
		}
		l, err := receiptlog.Parse([]byte(b))
		if err != nil {
			continue
		}
		rows, err := v.q.QueryContext(ctx, v.s.q(`SELECT tenant, ref FROM log_pruned WHERE leaf_idx = ?`), idx)
		if err != nil {
			return fmt.Errorf("read pruned rows of %d: %w", idx, err)
		}
		var refs []logRef
		for rows.Next() {
			var r logRef
			if err := rows.Scan(&r.tenant, &r.ref); err != nil {
				rows.Close()
				return err
			}
			refs = append(refs, r)
		}
		rows.Close()
		sum, err := prunedContent(refs)
		if err != nil {
			return err
		}
		if sum != l.SHA256 || int64(len(refs)) != l.Size {
			v.problem("log_pruned of leaf "+strconv.FormatInt(idx, 10), idx,
				"lists %d rows that do not match the prune leaf (%d rows)", len(refs), l.Size)
		}
	}
	return nil
}

// Writer is s's writer pool (tests: a tamper test opens its transaction
// there).
func Writer(s *DB) *sql.DB { return s.writer }
