package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/qyshook/qyshook/receiptlog"
)

// The commit path reads the rows a transaction wrote a few statements per
// kind, whatever their number (rowLeaves, lastLeafHashes): one query per
// row would cost a commit more than the change itself.

// rowLeaves returns the leaves of the rows refs (all of kind) as they are
// in q; a row no longer there is absent from the map.
func (s *DB) rowLeaves(ctx context.Context, q querier, kind string, refs []logRef) (map[logRef]receiptlog.Leaf, error) {
	return s.rowLeavesLock(ctx, q, kind, refs, "")
}

// rowLeavesLock is rowLeaves with lock appended to the rows' SELECT
// (s.d.LockRow: a commit reading rows it is about to write).
func (s *DB) rowLeavesLock(ctx context.Context, q querier, kind string, refs []logRef, lock string) (map[logRef]receiptlog.Leaf, error) {
	spec := rowSpecs[kind]
	out := make(map[logRef]receiptlog.Leaf, len(refs))
	var sigs map[[2]string][][]any
	if kind == receiptlog.KindContract {
		var err error
		if sigs, err = s.signatoriesOf(ctx, q, refs); err != nil {
			return nil, err
		}
	}
	// Non-paired keys name a row by ref alone; the touch says its tenant.
	byRef := map[string][]logRef{}
	for _, r := range refs {
		byRef[r.ref] = append(byRef[r.ref], r)
	}
	keyCols := 1
	if spec.paired {
		keyCols = 2
	}
	cols := strings.Join(spec.cols, ", ")
	tcol := "''"
	if spec.tenantCol != "" {
		tcol = spec.tenantCol
	}
	err := chunks(len(refs), keyCols, func(lo, hi int) error {
		var where string
		args := make([]any, 0, keyCols*(hi-lo))
		if spec.paired {
			where = `(` + spec.tenantCol + `, ` + spec.refCol + `) IN (VALUES ` + rows(hi-lo, 2) + `)`
			for _, r := range refs[lo:hi] {
				args = append(args, r.tenant, r.ref)
			}
		} else {
			where = spec.refCol + ` IN (` + placeholders(hi-lo) + `)`
			for _, r := range refs[lo:hi] {
				a, err := spec.keyed(r.tenant, r.ref)
				if err != nil {
					return err
				}
				args = append(args, a...)
			}
		}
		rs, err := q.QueryContext(ctx, s.q(`SELECT `+tcol+`, `+spec.refCol+`, `+cols+` FROM `+spec.table+` WHERE `+where+lock), args...)
		if err != nil {
			return fmt.Errorf("read %s: %w", spec.table, err)
		}
		defer rs.Close()
		for rs.Next() {
			var tenant string
			var ref any
			vals := make([]any, len(spec.cols))
			ptrs := append([]any{&tenant, &ref}, make([]any, len(vals))...)
			for i := range vals {
				ptrs[2+i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				return fmt.Errorf("read %s: %w", spec.table, err)
			}
			refStr := fmt.Sprint(normValue(ref))
			targets := []logRef{{kind, tenant, refStr}}
			if !spec.paired {
				targets = byRef[refStr]
			}
			for _, r := range targets {
				l, err := leafFromRow(kind, r.tenant, r.ref, spec, vals, sigs[[2]string{r.tenant, r.ref}])
				if err != nil {
					return err
				}
				out[r] = l
			}
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// signatoriesOf reads the signatories of the contracts refs names, each
// contract's in the order signatoryContent reads them.
func (s *DB) signatoriesOf(ctx context.Context, q querier, refs []logRef) (map[[2]string][][]any, error) {
	out := map[[2]string][][]any{}
	err := chunks(len(refs), 2, func(lo, hi int) error {
		args := make([]any, 0, 2*(hi-lo))
		for _, r := range refs[lo:hi] {
			args = append(args, r.tenant, r.ref)
		}
		rs, err := q.QueryContext(ctx, s.q(`SELECT tenant, contract_id, id, tenant_type, tenant_name, status, serial_no
			FROM signatories WHERE (tenant, contract_id) IN (VALUES `+rows(hi-lo, 2)+`)
			ORDER BY tenant, contract_id, id`+s.d.ByteOrder), args...)
		if err != nil {
			return fmt.Errorf("read signatories: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			var tenant, contract string
			vals := make([]any, 5)
			ptrs := []any{&tenant, &contract, &vals[0], &vals[1], &vals[2], &vals[3], &vals[4]}
			if err := rs.Scan(ptrs...); err != nil {
				return fmt.Errorf("read signatories: %w", err)
			}
			for i, v := range vals {
				vals[i] = normValue(v)
			}
			k := [2]string{tenant, contract}
			out[k] = append(out[k], vals)
		}
		return rs.Err()
	})
	return out, err
}

// lastLeafHashes returns, for each of refs that has leaves, the SHA256
// its last leaf says ("" when that leaf does not parse).
func (s *DB) lastLeafHashes(ctx context.Context, q querier, refs []logRef) (map[logRef]string, error) {
	out := make(map[logRef]string, len(refs))
	err := s.readLastLeaves(ctx, q, refs, false, func(r logRef, _ int64, leaf []byte) {
		l, err := receiptlog.Parse(leaf)
		if err != nil {
			out[r] = "" // damaged: a good leaf is appended (verify --log names the damage)
			return
		}
		out[r] = l.SHA256
	})
	return out, err
}

// storedLastLeaf is a row's last leaf: its index and bytes.
type storedLastLeaf struct {
	idx  int64
	leaf []byte
}

// lastLeavesQuery reads the last leaf (and, withIdx, its index) of each
// (kind, tenant, ref) of n VALUES rows: one backward probe of
// log_leaves_ref per row (two withIdx), whatever the planner knows of the
// table. (A join with a GROUP BY over the same rows let PostgreSQL, its
// statistics not yet gathered on a growing log, hash the whole of
// log_leaves on every commit.)
func lastLeavesQuery(n int, withIdx bool) string {
	const last = ` FROM log_leaves l WHERE l.kind = v.column1 AND l.tenant = v.column2 AND l.ref = v.column3 ORDER BY l.idx DESC LIMIT 1)`
	idx := `, -1`
	if withIdx {
		idx = `, (SELECT l.idx` + last
	}
	return `SELECT v.column1, v.column2, v.column3` + idx + `, (SELECT l.leaf` + last +
		` FROM (VALUES ` + rows(n, 3) + `) v`
}

// lastLeaves returns the last leaf of each of refs that has one.
func (s *DB) lastLeaves(ctx context.Context, q querier, refs []logRef) (map[logRef]storedLastLeaf, error) {
	out := make(map[logRef]storedLastLeaf, len(refs))
	err := s.readLastLeaves(ctx, q, refs, true, func(r logRef, idx int64, leaf []byte) {
		out[r] = storedLastLeaf{idx: idx, leaf: leaf}
	})
	return out, err
}

// readLastLeaves calls found with the last leaf of each of refs that has
// one (idx -1 unless withIdx).
func (s *DB) readLastLeaves(ctx context.Context, q querier, refs []logRef, withIdx bool, found func(r logRef, idx int64, leaf []byte)) error {
	return chunks(len(refs), 3, func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, r := range refs[lo:hi] {
			args = append(args, r.kind, r.tenant, r.ref)
		}
		rs, err := q.QueryContext(ctx, s.q(lastLeavesQuery(hi-lo, withIdx)), args...)
		if err != nil {
			return fmt.Errorf("read last leaves: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			var r logRef
			var idx sql.NullInt64
			var b sql.NullString
			if err := rs.Scan(&r.kind, &r.tenant, &r.ref, &idx, &b); err != nil {
				return fmt.Errorf("read last leaves: %w", err)
			}
			if !idx.Valid || !b.Valid {
				continue // no leaf
			}
			found(r, idx.Int64, []byte(b.String))
		}
		return rs.Err()
	})
}

// existing returns which of refs (all of kind) have their row.
func (s *DB) existing(ctx context.Context, q querier, kind string, refs []logRef) (map[logRef]bool, error) {
	spec := rowSpecs[kind]
	out := make(map[logRef]bool, len(refs))
	byRef := map[string][]logRef{}
	for _, r := range refs {
		byRef[r.ref] = append(byRef[r.ref], r)
	}
	tcol := "''"
	if spec.tenantCol != "" {
		tcol = spec.tenantCol
	}
	err := chunks(len(refs), 2, func(lo, hi int) error {
		var where string
		var args []any
		if spec.paired {
			where = `(` + spec.tenantCol + `, ` + spec.refCol + `) IN (VALUES ` + rows(hi-lo, 2) + `)`
			for _, r := range refs[lo:hi] {
				args = append(args, r.tenant, r.ref)
			}
		} else {
			n := 0
			for _, r := range refs[lo:hi] {
				a, err := spec.keyed(r.tenant, r.ref)
				if err != nil {
					continue // a ref that cannot name a row: reported as gone
				}
				args = append(args, a...)
				n++
			}
			if n == 0 {
				return nil
			}
			where = spec.refCol + ` IN (` + placeholders(n) + `)`
		}
		rs, err := q.QueryContext(ctx, s.q(`SELECT `+tcol+`, `+spec.refCol+` FROM `+spec.table+` WHERE `+where), args...)
		if err != nil {
			return fmt.Errorf("look up %s: %w", spec.table, err)
		}
		defer rs.Close()
		for rs.Next() {
			var tenant string
			var ref any
			if err := rs.Scan(&tenant, &ref); err != nil {
				return fmt.Errorf("look up %s: %w", spec.table, err)
			}
			refStr := fmt.Sprint(normValue(ref))
			if spec.paired {
				out[logRef{kind, tenant, refStr}] = true
				continue
			}
			for _, r := range byRef[refStr] {
				out[r] = true
			}
		}
		return rs.Err()
	})
	return out, err
}
