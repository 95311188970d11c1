package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

var _ store.EvidenceStore = (*DB)(nil)

// snapshot begins a read transaction that sees one state of the ledger
// (repeatable read on PostgreSQL; SQLite's deferred BEGIN).
func (s *DB) snapshot(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.Numbered {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.reader.BeginTx(ctx, opts)
}

// RowEvidence implements store.EvidenceStore: the row and its last leaf
// are read in one snapshot, so a commit going on meanwhile is not taken
// for an edit.
func (s *DB) RowEvidence(ctx context.Context, kind, tenant, ref string) (store.RowContent, error) {
	op := "row evidence of " + kind + " " + refName(tenant, ref)
	spec, ok := rowSpecs[kind]
	if !ok {
		return store.RowContent{}, fmt.Errorf("ledger: %s: unknown kind %q", op, kind)
	}
	args, err := spec.keyed(tenant, ref)
	if err != nil {
		return store.RowContent{}, fmt.Errorf("ledger: %s: %w", op, err)
	}
	tx, err := s.snapshot(ctx)
	if err != nil {
		return store.RowContent{}, s.fail(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	vals := make([]any, len(spec.cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	tcol := "''"
	if spec.tenantCol != "" {
		tcol = spec.tenantCol
	}
	var rowTenant string
	err = tx.QueryRowContext(ctx, s.q(`SELECT `+tcol+`, `+strings.Join(spec.cols, ", ")+` FROM `+spec.table+` WHERE `+spec.key), args...).
		Scan(append([]any{&rowTenant}, ptrs...)...)
	if errors.Is(err, sql.ErrNoRows) || err == nil && spec.tenantCol != "" && rowTenant != tenant {
		return store.RowContent{}, fmt.Errorf("ledger: %s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return store.RowContent{}, s.fail(op, err)
	}
	r := logRef{kind, tenant, ref}
	var sigs [][]any
	if kind == receiptlog.KindContract {
		all, err := s.signatoriesOf(ctx, tx, []logRef{r})
		if err != nil {
			return store.RowContent{}, s.fail(op, err)
		}
		sigs = all[[2]string{tenant, ref}]
	}
	cur, content, err := leafAndContent(kind, tenant, ref, spec, vals, sigs)
	if err != nil {
		return store.RowContent{}, fmt.Errorf("ledger: %s: %w", op, err)
	}
	last, err := s.lastLeaves(ctx, tx, []logRef{r})
	if err != nil {
		return store.RowContent{}, s.fail(op, err)
	}
	ll, ok := last[r]
	if !ok {
		return store.RowContent{}, fmt.Errorf("ledger: %s: not in the receipt log (written outside qyshook): %w", op, store.ErrRowEdited)
	}
	stored, err := receiptlog.Parse(ll.leaf)
	if err != nil {
		return store.RowContent{}, fmt.Errorf("ledger: %s: its last leaf %d is damaged: %w", op, ll.idx, store.ErrRowEdited)
	}
	cur.StreamSeq = stored.StreamSeq
	if cur != stored {
		return store.RowContent{}, fmt.Errorf("ledger: %s: edited after leaf %d (row hash %s, leaf says %s): %w",
			op, ll.idx, short(cur.SHA256), short(stored.SHA256), store.ErrRowEdited)
	}
	out := store.RowContent{Kind: kind, Tenant: tenant, Ref: ref, Content: content, Columns: append([]string(nil), spec.cols...),
		Leaf: store.LogLeaf{Index: ll.idx, Kind: kind, Tenant: tenant, Ref: ref, Leaf: ll.leaf}}
	if spec.body != "" && stored.BodySHA256 != "" {
		for i, c := range spec.cols {
			if c == spec.body && vals[i] != nil {
				out.Body = append([]byte(nil), valueBytes(vals[i])...)
			}
		}
	}
	return out, nil
}

// EvidenceRefs implements store.EvidenceStore.
func (s *DB) EvidenceRefs(ctx context.Context, tenant, contractID string) (store.EvidenceRefs, error) {
	op := "evidence refs of " + refName(tenant, contractID)
	var out store.EvidenceRefs
	for _, q := range []struct {
		query string
		dst   *[]string
	}{
		{`SELECT id FROM events WHERE tenant = ? AND contract_id = ? ORDER BY received_at, id`, &out.Events},
		{`SELECT id FROM outbox WHERE tenant = ? AND contract_id = ? ORDER BY seq, created_at, id`, &out.Facts},
		{`SELECT id FROM documents WHERE tenant = ? AND contract_id = ? ORDER BY id`, &out.Documents},
	} {
		rows, err := s.reader.QueryContext(ctx, s.q(q.query), tenant, contractID)
		if err != nil {
			return out, s.fail(op, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return out, s.fail(op, err)
			}
			*q.dst = append(*q.dst, id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return out, s.fail(op, err)
		}
	}
	return out, nil
}

// bundleStatuses are the statuses whose contracts get a bundle: COMPLETE
// and the terminal ones.
func bundleStatuses() []any {
	out := []any{lifecycle.Complete}
	for _, st := range []string{lifecycle.Rejected, lifecycle.Recalled, lifecycle.Expired, lifecycle.Failed, lifecycle.ForceEnd,
		lifecycle.End, lifecycle.Delete, lifecycle.Finished, lifecycle.Invaliding, lifecycle.Invalided, lifecycle.Terminating,
		lifecycle.Terminated} {
		if lifecycle.IsTerminal(st) {
			out = append(out, st)
		}
	}
	return out
}

// queueEvidence queues, in tx, the contracts of the leaves just appended
// (the first at index first) whose row is now confirmed in COMPLETE or a
// terminal status: one evidence_due row each, carrying the contract's
// latest leaf. EvidenceDue reads only the queue; SaveBundle takes a
// contract off it. A contract leaf in any other state queues nothing (a
// row queued before stays: EvidenceDue skips it while it is not due).
func (s *DB) queueEvidence(ctx context.Context, tx *sql.Tx, leaves []receiptlog.Leaf, first int64) error {
	// A contract leaf queues its contract; a document leaf (a file
	// archived, perhaps after the contract's last bundle) queues the
	// document's contract.
	for _, kind := range []string{receiptlog.KindContract, receiptlog.KindDocument} {
		var refs [][2]string
		latest := map[[2]string]int64{}
		for i, l := range leaves {
			if l.Kind != kind {
				continue
			}
			k := [2]string{l.Tenant, l.Ref}
			if _, ok := latest[k]; !ok {
				refs = append(refs, k)
			}
			latest[k] = first + int64(i)
		}
		if len(refs) == 0 {
			continue
		}
		join := `contracts c ON c.tenant = v.tenant AND c.id = v.id`
		if kind == receiptlog.KindDocument {
			join = `documents d ON d.tenant = v.tenant AND d.id = v.id JOIN contracts c ON c.tenant = d.tenant AND c.id = d.contract_id`
		}
		sts := bundleStatuses()
		// One statement for the whole append (a batch of commits appends the
		// leaves of many contracts at once).
		err := chunks(len(refs), 3, func(lo, hi int) error {
			args := make([]any, 0, 3*(hi-lo)+1+len(sts))
			vals := make([]string, 0, hi-lo)
			for _, k := range refs[lo:hi] {
				args = append(args, k[0], k[1], latest[k])
				vals = append(vals, "(?, ?, CAST(? AS BIGINT))")
			}
			args = append(append(args, true), sts...)
			_, err := tx.ExecContext(ctx, s.q(`WITH v (tenant, id, leaf) AS (VALUES `+strings.Join(vals, ", ")+`)
				INSERT INTO evidence_due (tenant, contract_id, leaf)
				SELECT c.tenant, c.id, MAX(v.leaf) FROM v JOIN `+join+`
				WHERE c.confirmed = ? AND c.status IN (`+placeholders(len(sts))+`)
				GROUP BY c.tenant, c.id
				ON CONFLICT (tenant, contract_id) DO UPDATE SET leaf = excluded.leaf`), args...)
			if err != nil {
				return fmt.Errorf("evidence queue: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// EvidenceDue implements store.EvidenceStore. It reads the queue
// (evidence_due), never every ended contract: the work of a pass follows
// what is queued, not how many contracts the ledger holds.
func (s *DB) EvidenceDue(ctx context.Context, limit int) ([]store.DueContract, error) {
	if limit <= 0 {
		limit = 100
	}
	sts := bundleStatuses()
	args := append([]any{true}, sts...)
	args = append(args, store.ArchivePending, limit)
	// Due: a contract leaf newer than the last bundle's, or a document
	// leaf the last bundle's checkpoint does not cover (a file archived
	// after it: a requeued document, a later verification).
	rows, err := s.reader.QueryContext(ctx, s.q(`SELECT tenant, id, status, leaf, last_leaf, last_version FROM (
		SELECT c.tenant, c.id, c.status, q.leaf AS queued,
			(SELECT MAX(l.idx) FROM log_leaves l WHERE l.kind = 'contract' AND l.tenant = c.tenant AND l.ref = c.id) AS leaf,
			(SELECT MAX(l.idx) FROM documents d JOIN log_leaves l ON l.kind = 'document' AND l.tenant = d.tenant AND l.ref = d.id
				WHERE d.tenant = c.tenant AND d.contract_id = c.id) AS doc_leaf,
			(SELECT MAX(b.contract_leaf) FROM evidence_bundles b WHERE b.tenant = c.tenant AND b.contract_id = c.id) AS last_leaf,
			(SELECT MAX(b.checkpoint_size) FROM evidence_bundles b WHERE b.tenant = c.tenant AND b.contract_id = c.id) AS last_cp,
			(SELECT MAX(b.version) FROM evidence_bundles b WHERE b.tenant = c.tenant AND b.contract_id = c.id) AS last_version
		FROM evidence_due q JOIN contracts c ON c.tenant = q.tenant AND c.id = q.contract_id
		WHERE c.confirmed = ? AND c.status IN (`+placeholders(len(sts))+`)
			AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.tenant = c.tenant AND d.contract_id = c.id AND d.archive_state = ?)
	) due WHERE leaf IS NOT NULL AND (last_leaf IS NULL OR leaf > last_leaf OR doc_leaf >= last_cp)
	ORDER BY queued LIMIT ?`), args...)
	if err != nil {
		return nil, s.fail("evidence due", err)
	}
	defer rows.Close()
	var out []store.DueContract
	for rows.Next() {
		var d store.DueContract
		var lastLeaf, lastVersion sql.NullInt64
		if err := rows.Scan(&d.Tenant, &d.ID, &d.Status, &d.ContractLeaf, &lastLeaf, &lastVersion); err != nil {
			return nil, s.fail("evidence due", err)
		}
		d.LastVersion = int(lastVersion.Int64)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("evidence due", err)
	}
	return out, nil
}

// BundleRef is the receipt-log ref of a bundle row.
func BundleRef(contractID string, version int) string {
	return contractID + "/v" + strconv.Itoa(version)
}

// SaveBundle implements store.EvidenceStore.
func (s *DB) SaveBundle(ctx context.Context, b store.Bundle) error {
	if b.Tenant == "" || b.ContractID == "" || b.Version < 1 || len(b.SHA256) != 64 || b.Path == "" {
		return errors.New("ledger: save bundle: tenant, contract, version >= 1, sha256 and path are required")
	}
	if b.BuiltAt.IsZero() {
		b.BuiltAt = s.now()
	}
	ref := BundleRef(b.ContractID, b.Version)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var v int64
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO evidence_bundles (tenant, contract_id, version, ref, state, contract_leaf,
			checkpoint_size, sha256, size, path, items, discrepancies, built_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING version`),
			b.Tenant, b.ContractID, b.Version, ref, b.State, b.ContractLeaf, b.CheckpointSize, b.SHA256, b.Size, b.Path,
			b.Items, b.Discrepancies, s.timeArg(b.BuiltAt)).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return markedError{fmt.Errorf("bundle version %d is already recorded (another builder made it first)", b.Version),
				[]error{store.ErrDuplicate}}
		}
		if err != nil {
			return fmt.Errorf("insert bundle: %w", err)
		}
		// Off the queue, unless a leaf the bundle's checkpoint does not
		// cover (a later contract or document leaf) queued it again.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM evidence_due WHERE tenant = ? AND contract_id = ? AND leaf < ?`),
			b.Tenant, b.ContractID, max(b.CheckpointSize, b.ContractLeaf+1)); err != nil {
			return fmt.Errorf("evidence queue: %w", err)
		}
		s.touch(tx, receiptlog.KindBundle, b.Tenant, ref)
		return nil
	})
	return s.fail("save bundle "+refName(b.Tenant, ref), err)
}

const bundleCols = `tenant, contract_id, version, state, contract_leaf, checkpoint_size, sha256, size, path, items, discrepancies, built_at`

// Bundles implements store.EvidenceStore.
func (s *DB) Bundles(ctx context.Context, tenant, contractID string) ([]store.Bundle, error) {
	return s.readBundles(ctx, "bundles of "+refName(tenant, contractID), `SELECT `+bundleCols+` FROM evidence_bundles
		WHERE tenant = ? AND contract_id = ? ORDER BY version DESC`, tenant, contractID)
}

// Bundle implements store.EvidenceStore.
func (s *DB) Bundle(ctx context.Context, tenant, contractID string, version int) (*store.Bundle, error) {
	op := fmt.Sprintf("bundle %s v%d", refName(tenant, contractID), version)
	query := `SELECT ` + bundleCols + ` FROM evidence_bundles WHERE tenant = ? AND contract_id = ?`
	args := []any{tenant, contractID}
	if version > 0 {
		query += ` AND version = ?`
		args = append(args, version)
	}
	out, err := s.readBundles(ctx, op, query+` ORDER BY version DESC LIMIT 1`, args...)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ledger: %s: %w", op, store.ErrNotFound)
	}
	return &out[0], nil
}

func (s *DB) readBundles(ctx context.Context, op, query string, args ...any) ([]store.Bundle, error) {
	rows, err := s.reader.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Bundle
	for rows.Next() {
		var b store.Bundle
		if err := rows.Scan(&b.Tenant, &b.ContractID, &b.Version, &b.State, &b.ContractLeaf, &b.CheckpointSize, &b.SHA256,
			&b.Size, &b.Path, &b.Items, &b.Discrepancies, timeCol{&b.BuiltAt}); err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}
