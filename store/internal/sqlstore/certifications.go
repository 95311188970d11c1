package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/qyshook/qyshook/store"
)

// ApplyCertification implements store.Ledger. The event and the
// certification are written in one transaction. A certification that
// succeeded is never downgraded: a later event that is not a success
// (in progress, or a failure) for the same request leaves it as it is.
func (s *DB) ApplyCertification(ctx context.Context, ev store.Event, c store.Certification) error {
	if c.Tenant == "" {
		c.Tenant = ev.Tenant
	}
	if c.RequestID == "" {
		return fmt.Errorf("ledger: apply certification: request id is empty")
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = s.now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertEvent(ctx, tx, ev); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO certifications
			(tenant, request_id, kind, status, success, mode, name, fail_reason, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, request_id) DO UPDATE SET
			kind = excluded.kind, status = excluded.status, success = excluded.success,
			mode = excluded.mode, name = excluded.name, fail_reason = excluded.fail_reason,
			updated_at = excluded.updated_at
			WHERE NOT certifications.success OR excluded.success`),
			c.Tenant, c.RequestID, c.Kind, c.Status, c.Success, c.Mode, c.Name, c.FailReason,
			s.timeArg(c.UpdatedAt))
		if err != nil {
			return fmt.Errorf("upsert certification: %w", err)
		}
		return nil
	})
	return s.fail("apply certification "+c.RequestID, err)
}

// Certification implements store.Ledger.
func (s *DB) Certification(ctx context.Context, tenant, requestID string) (*store.Certification, error) {
	var c store.Certification
	err := s.reader.QueryRowContext(ctx, s.q(`SELECT tenant, request_id, kind, status, success,
		mode, name, fail_reason, updated_at FROM certifications WHERE tenant = ? AND request_id = ?`),
		tenant, requestID).Scan(&c.Tenant, &c.RequestID, &c.Kind, &c.Status, &c.Success,
		&c.Mode, &c.Name, &c.FailReason, timeCol{&c.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("certification "+requestID, err)
	}
	return &c, nil
}

// Certifications implements store.Ledger.
func (s *DB) Certifications(ctx context.Context, tenant string, limit int) ([]store.Certification, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.reader.QueryContext(ctx, s.q(`SELECT tenant, request_id, kind, status, success,
		mode, name, fail_reason, updated_at FROM certifications WHERE tenant = ?
		ORDER BY updated_at DESC, request_id LIMIT ?`), tenant, limit)
	if err != nil {
		return nil, s.fail("certifications", err)
	}
	defer rows.Close()
	var out []store.Certification
	for rows.Next() {
		var c store.Certification
		if err := rows.Scan(&c.Tenant, &c.RequestID, &c.Kind, &c.Status, &c.Success,
			&c.Mode, &c.Name, &c.FailReason, timeCol{&c.UpdatedAt}); err != nil {
			return nil, s.fail("certifications", err)
		}
		out = append(out, c)
	}
	return out, s.fail("certifications", rows.Err())
}
