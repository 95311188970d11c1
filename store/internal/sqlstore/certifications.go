package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

const certificationCols = `tenant, request_id, kind, status, state, success, mode, name, fail_reason,
	confirmed, reason, pending, detail, answer, updated_at`

func scanCertification(sc interface{ Scan(...any) error }, c *store.Certification) error {
	var detail, answer []byte
	if err := sc.Scan(&c.Tenant, &c.RequestID, &c.Kind, &c.Status, &c.State, &c.Success, &c.Mode, &c.Name, &c.FailReason,
		&c.Confirmed, &c.Reason, &c.Pending, &detail, &answer, timeCol{&c.UpdatedAt}); err != nil {
		return err
	}
	if len(detail) > 0 {
		c.Detail = detail
	}
	if len(answer) > 0 {
		c.Answer = answer
	}
	if c.State == "" {
		c.State = c.CertState()
	}
	return nil
}

// ApplyCertification implements store.Ledger.
func (s *DB) ApplyCertification(ctx context.Context, ev store.Event, c store.Certification) error {
	_, err := s.ApplyCertificationChange(ctx, store.CertificationChange{Event: ev, Certification: c})
	return err
}

// ApplyCertificationChange implements store.Ledger. The event, the
// certification and its facts are written in one transaction; the row is
// locked first, and replaced only when lifecycle.CertAdvances says so, so
// a certification never regresses (a success stays a success, the
// callback's word never overrides the API's).
func (s *DB) ApplyCertificationChange(ctx context.Context, ch store.CertificationChange) (store.CertificationApplied, error) {
	c := ch.Certification
	if c.Tenant == "" {
		c.Tenant = ch.Event.Tenant
	}
	if c.RequestID == "" {
		return store.CertificationApplied{}, fmt.Errorf("ledger: apply certification: request id is empty")
	}
	now := s.now()
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now
	}
	var res store.CertificationApplied
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = store.CertificationApplied{}
		if err := s.insertEvent(ctx, tx, ch.Event); err != nil {
			return err
		}
		var old store.Certification
		err := scanCertification(tx.QueryRowContext(ctx, s.q(`SELECT `+certificationCols+`
			FROM certifications WHERE tenant = ? AND request_id = ?`+s.d.LockRow), c.Tenant, c.RequestID), &old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("select certification: %w", err)
		default:
			res.Previous = &old
			if err := s.readPre(ctx, tx, receiptlog.KindCertification, old.Tenant, old.RequestID); err != nil {
				return err
			}
		}
		next, advances := nextCertification(res.Previous, c)
		if !advances {
			res.Current = res.Previous
			return s.updateUnconfirmedReason(ctx, tx, res.Previous, c)
		}
		previous := ""
		if res.Previous != nil {
			previous = res.Previous.CertState()
		}
		next.Pending = lifecycle.CertPending(next.CertView())
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO certifications
			(tenant, request_id, kind, status, state, success, mode, name, fail_reason, confirmed, reason, pending,
			 detail, answer, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, request_id) DO UPDATE SET
			kind = excluded.kind, status = excluded.status, state = excluded.state, success = excluded.success,
			mode = excluded.mode, name = excluded.name, fail_reason = excluded.fail_reason,
			confirmed = excluded.confirmed, reason = excluded.reason, pending = excluded.pending,
			detail = excluded.detail, answer = excluded.answer, updated_at = excluded.updated_at`),
			next.Tenant, next.RequestID, next.Kind, next.Status, next.State, next.Success, next.Mode, next.Name, next.FailReason,
			next.Confirmed, next.Reason, next.Pending, jsonArg(next.Detail), jsonArg(next.Answer), s.timeArg(next.UpdatedAt))
		if err != nil {
			return fmt.Errorf("upsert certification: %w", err)
		}
		s.touch(tx, receiptlog.KindCertification, next.Tenant, next.RequestID)
		res.Changed, res.Current = true, &next
		if rereadConfirmed(res.Previous, &next) {
			// A confirmation migration 0008 withdrew, given back with the
			// same state: subscribers had its fact already.
			return nil
		}
		return s.insertFacts(ctx, tx, ch.Facts, previous, now)
	})
	if err != nil {
		return store.CertificationApplied{}, s.fail("apply certification "+c.RequestID, err)
	}
	return res, nil
}

// updateUnconfirmedReason keeps, on an unconfirmed row that c does not
// replace, c's reason and kept answer when c is unconfirmed too and says
// something new (an answer not recognised after the id was not found):
// the row's state stays, no fact is written.
func (s *DB) updateUnconfirmedReason(ctx context.Context, tx *sql.Tx, old *store.Certification, c store.Certification) error {
	if old == nil || old.Confirmed || c.Confirmed || c.Reason == "" ||
		(c.Reason == old.Reason && bytes.Equal(c.Answer, old.Answer)) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE certifications SET reason = ?, answer = ? WHERE tenant = ? AND request_id = ?`),
		c.Reason, jsonArg(c.Answer), old.Tenant, old.RequestID); err != nil {
		return fmt.Errorf("update certification reason: %w", err)
	}
	s.touch(tx, receiptlog.KindCertification, old.Tenant, old.RequestID)
	old.Reason, old.Answer = c.Reason, c.Answer
	return nil
}

// rereadConfirmed reports whether next only gives back the confirmation
// migration 0008 withdrew from old (reason reread), in the same state.
func rereadConfirmed(old, next *store.Certification) bool {
	return old != nil && old.Reason == store.CertReasonReread && next.Confirmed && next.CertState() == old.CertState()
}

// nextCertification is the row c makes of old (nil: a new one), and
// whether it replaces it (lifecycle.CertAdvances). Empty Mode, Name,
// FailReason and Kind keep old's; State and Success follow the state; a
// confirmed row carries no unconfirmed reason or answer.
func nextCertification(old *store.Certification, c store.Certification) (store.Certification, bool) {
	next := c
	var oldView *lifecycle.CertView
	if old != nil {
		v := old.CertView()
		oldView = &v
		if next.Mode == "" {
			next.Mode = old.Mode
		}
		if next.Name == "" {
			next.Name = old.Name
		}
		if next.FailReason == "" && !next.Success {
			next.FailReason = old.FailReason
		}
		if next.Kind == "" {
			next.Kind = old.Kind
		}
	}
	if !lifecycle.CertAdvances(oldView, next.CertView()) {
		return next, false
	}
	next.State = next.CertState()
	next.Success = next.State == lifecycle.CertSuccess
	if next.Success {
		next.FailReason = ""
	}
	if next.Confirmed {
		next.Reason, next.Answer = "", nil
	}
	return next, true
}

// Certification implements store.Ledger.
func (s *DB) Certification(ctx context.Context, tenant, requestID string) (*store.Certification, error) {
	var c store.Certification
	err := scanCertification(s.reader.QueryRowContext(ctx, s.q(`SELECT `+certificationCols+`
		FROM certifications WHERE tenant = ? AND request_id = ?`), tenant, requestID), &c)
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
	return s.listCertifications(ctx, "certifications", `SELECT `+certificationCols+` FROM certifications
		WHERE tenant = ? ORDER BY updated_at DESC, request_id LIMIT ?`, tenant, limit)
}

// PendingCertifications implements store.Ledger.
func (s *DB) PendingCertifications(ctx context.Context, tenant string, updatedBefore time.Time, after *store.CertKey, limit int) ([]store.Certification, error) {
	if limit <= 0 {
		limit = 100
	}
	if after == nil {
		return s.listCertifications(ctx, "pending certifications", `SELECT `+certificationCols+` FROM certifications
			WHERE tenant = ? AND pending = ? AND updated_at < ? ORDER BY updated_at, request_id LIMIT ?`,
			tenant, true, s.timeArg(updatedBefore), limit)
	}
	return s.listCertifications(ctx, "pending certifications", `SELECT `+certificationCols+` FROM certifications
		WHERE tenant = ? AND pending = ? AND updated_at < ? AND (updated_at > ? OR (updated_at = ? AND request_id > ?))
		ORDER BY updated_at, request_id LIMIT ?`,
		tenant, true, s.timeArg(updatedBefore), s.timeArg(after.UpdatedAt), s.timeArg(after.UpdatedAt), after.RequestID, limit)
}

func (s *DB) listCertifications(ctx context.Context, op, query string, args ...any) ([]store.Certification, error) {
	rows, err := s.reader.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Certification
	for rows.Next() {
		var c store.Certification
		if err := scanCertification(rows, &c); err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, c)
	}
	return out, s.fail(op, rows.Err())
}
