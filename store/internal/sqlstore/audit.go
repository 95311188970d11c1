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

var _ store.AdminLog = (*DB)(nil)

// AddAudit implements store.AdminLog.
func (s *DB) AddAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Who == "" || e.Action == "" {
		return 0, errors.New("ledger: add audit: who and action are required")
	}
	sel := string(e.Selector)
	if len(e.Selector) == 0 {
		sel = "{}"
	} else if !json.Valid(e.Selector) {
		return 0, errors.New("ledger: add audit: selector is not JSON")
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO audit (at, who, action, selector, count, outcome, job_id)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			s.timeArg(e.At), e.Who, e.Action, sel, e.Count, truncateError(e.Outcome), e.JobID).Scan(&id)
		if err == nil {
			s.touch(tx, receiptlog.KindAudit, "", strconv.FormatInt(id, 10))
		}
		return err
	})
	if err != nil {
		return 0, s.fail("add audit", err)
	}
	return id, nil
}

// Audit implements store.AdminLog.
func (s *DB) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	query := `SELECT id, at, who, action, selector, count, outcome, job_id FROM audit`
	var args []any
	if f.BeforeID > 0 {
		query += ` WHERE id < ?`
		args = append(args, f.BeforeID)
	}
	query += ` ORDER BY id DESC` + limitClause(f.Limit)
	rows, err := s.reader.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.fail("audit", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var sel string
		if err := rows.Scan(&e.ID, timeCol{&e.At}, &e.Who, &e.Action, &sel, &e.Count, &e.Outcome, &e.JobID); err != nil {
			return nil, s.fail("audit: scan", err)
		}
		e.Selector = json.RawMessage(sel)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("audit", err)
	}
	return out, nil
}

// SaveReconcileRun implements store.AdminLog.
func (s *DB) SaveReconcileRun(ctx context.Context, r store.ReconcileRun) error {
	if r.ID == "" {
		return errors.New("ledger: save reconcile run: no id")
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = s.now()
	}
	ids := r.UnconfirmedCertifications
	if len(ids) > store.MaxUnconfirmedIDs {
		ids = ids[:store.MaxUnconfirmedIDs]
	}
	if ids == nil {
		ids = []string{}
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("ledger: save reconcile run: %w", err)
	}
	_, err = s.writer.ExecContext(ctx, s.q(`INSERT INTO reconcile_runs
		(id, started_at, finished_at, started_by, since, checked, triggered, requeued,
		 certifications_checked, certifications_unconfirmed, unconfirmed_certifications, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, checked = excluded.checked,
		triggered = excluded.triggered, requeued = excluded.requeued,
		certifications_checked = excluded.certifications_checked,
		certifications_unconfirmed = excluded.certifications_unconfirmed,
		unconfirmed_certifications = excluded.unconfirmed_certifications, error = excluded.error`),
		r.ID, s.timeArg(r.StartedAt), s.nullTimeArg(r.FinishedAt), r.StartedBy, s.nullTimeArg(&r.Since),
		r.Checked, r.Triggered, r.Requeued, r.CertificationsChecked, r.CertificationsUnconfirmed, string(idsJSON),
		truncateError(r.Error))
	return s.fail("save reconcile run", err)
}

// ReconcileRuns implements store.AdminLog.
func (s *DB) ReconcileRuns(ctx context.Context, limit int) ([]store.ReconcileRun, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, started_at, finished_at, started_by, since, checked, triggered,
		requeued, certifications_checked, certifications_unconfirmed, unconfirmed_certifications, error FROM reconcile_runs ORDER BY started_at DESC, id DESC`+limitClause(limit))
	if err != nil {
		return nil, s.fail("reconcile runs", err)
	}
	defer rows.Close()
	var out []store.ReconcileRun
	for rows.Next() {
		var r store.ReconcileRun
		var since *time.Time
		var ids string
		if err := rows.Scan(&r.ID, timeCol{&r.StartedAt}, nullTimeCol{&r.FinishedAt}, &r.StartedBy, nullTimeCol{&since},
			&r.Checked, &r.Triggered, &r.Requeued, &r.CertificationsChecked, &r.CertificationsUnconfirmed, &ids,
			&r.Error); err != nil {
			return nil, s.fail("reconcile runs: scan", err)
		}
		if err := json.Unmarshal([]byte(ids), &r.UnconfirmedCertifications); err != nil {
			return nil, s.fail("reconcile runs: unconfirmed certifications", err)
		}
		if since != nil {
			r.Since = *since
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("reconcile runs", err)
	}
	return out, nil
}

// Counts implements store.AdminLog.
func (s *DB) Counts(ctx context.Context) (store.Counts, error) {
	out := store.Counts{Contracts: map[string]map[string]int64{}, Certifications: map[string]int64{}}
	rows, err := s.reader.QueryContext(ctx, `SELECT tenant, status, COUNT(*) FROM contracts GROUP BY tenant, status`)
	if err != nil {
		return out, s.fail("counts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tenant, status string
		var n int64
		if err := rows.Scan(&tenant, &status, &n); err != nil {
			return out, s.fail("counts: scan", err)
		}
		if out.Contracts[tenant] == nil {
			out.Contracts[tenant] = map[string]int64{}
		}
		out.Contracts[tenant][status] = n
	}
	if err := rows.Err(); err != nil {
		return out, s.fail("counts", err)
	}
	crows, err := s.reader.QueryContext(ctx, `SELECT tenant, COUNT(*) FROM certifications GROUP BY tenant`)
	if err != nil {
		return out, s.fail("counts", err)
	}
	defer crows.Close()
	for crows.Next() {
		var tenant string
		var n int64
		if err := crows.Scan(&tenant, &n); err != nil {
			return out, s.fail("counts: scan", err)
		}
		out.Certifications[tenant] = n
	}
	if err := crows.Err(); err != nil {
		return out, s.fail("counts", err)
	}
	cc, err := s.CertificationCounts(ctx)
	if err != nil {
		return out, err
	}
	out.UnconfirmedCertifications, out.PendingCertifications = cc.Unconfirmed, cc.Pending
	return out, nil
}

// CertificationCounts implements store.CertificationCounter. Each count
// seeks the index led by its flag (migration 0010) and reads the rows it
// counts alone, from the index only.
func (s *DB) CertificationCounts(ctx context.Context) (store.CertificationCounts, error) {
	out := store.CertificationCounts{Unconfirmed: map[string]int64{}, Pending: map[string]int64{}}
	for _, c := range []struct {
		query string
		into  map[string]int64
	}{
		{`SELECT tenant, COUNT(*) FROM certifications WHERE confirmed = FALSE GROUP BY tenant`, out.Unconfirmed},
		{`SELECT tenant, COUNT(*) FROM certifications WHERE pending = TRUE GROUP BY tenant`, out.Pending},
	} {
		if err := s.countByTenant(ctx, c.query, c.into); err != nil {
			return out, s.fail("certification counts", err)
		}
	}
	return out, nil
}

func (s *DB) countByTenant(ctx context.Context, query string, into map[string]int64) error {
	rows, err := s.reader.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var tenant string
		var n int64
		if err := rows.Scan(&tenant, &n); err != nil {
			return err
		}
		into[tenant] = n
	}
	return rows.Err()
}
