package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/qyshook/qyshook/store"
)

var _ store.EndpointStore = (*DB)(nil)

const endpointCols = `id, tenant, url, description, types, secrets, headers, rate_limit, concurrency, ordered,
	allow_private, allow_http, enabled, disabled_reason, disabled_at, source, created_at, updated_at,
	failing_since, warned_at, last_success_at`

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SaveEndpoint implements store.EndpointStore.
func (s *DB) SaveEndpoint(ctx context.Context, e store.Endpoint) error {
	if e.ID == "" || e.Tenant == "" || e.URL == "" {
		return errors.New("ledger: save endpoint: id, tenant and url are required")
	}
	now := s.now()
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = now
	}
	if e.Source == "" {
		e.Source = "api"
	}
	if e.Types == nil {
		e.Types = []string{}
	}
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	if e.Secrets == nil {
		e.Secrets = []store.EndpointSecret{}
	}
	types, _ := json.Marshal(e.Types)
	secrets, _ := json.Marshal(e.Secrets)
	headers, _ := json.Marshal(e.Headers)
	_, err := s.writer.ExecContext(ctx, s.q(`INSERT INTO endpoints (id, tenant, url, description, types, secrets,
		headers, rate_limit, concurrency, ordered, allow_private, allow_http, enabled, disabled_reason, disabled_at,
		source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, url = excluded.url,
		description = excluded.description, types = excluded.types, secrets = excluded.secrets,
		headers = excluded.headers, rate_limit = excluded.rate_limit, concurrency = excluded.concurrency,
		ordered = excluded.ordered, allow_private = excluded.allow_private, allow_http = excluded.allow_http,
		enabled = excluded.enabled, disabled_reason = excluded.disabled_reason, disabled_at = excluded.disabled_at,
		source = excluded.source, updated_at = excluded.updated_at`),
		e.ID, e.Tenant, e.URL, e.Description, string(types), string(secrets), string(headers), e.RateLimit,
		e.Concurrency, b2i(e.Ordered), b2i(e.AllowPrivate), b2i(e.AllowHTTP), b2i(e.Enabled), e.DisabledReason,
		s.nullTimeArg(e.DisabledAt), e.Source, s.timeArg(e.CreatedAt), s.timeArg(e.UpdatedAt))
	return s.fail("save endpoint "+e.ID, err)
}

func (s *DB) scanEndpoints(rows *sql.Rows) ([]store.Endpoint, error) {
	defer rows.Close()
	var out []store.Endpoint
	for rows.Next() {
		var e store.Endpoint
		var types, secrets, headers string
		var ordered, private, http, enabled int
		if err := rows.Scan(&e.ID, &e.Tenant, &e.URL, &e.Description, &types, &secrets, &headers, &e.RateLimit,
			&e.Concurrency, &ordered, &private, &http, &enabled, &e.DisabledReason, nullTimeCol{&e.DisabledAt},
			&e.Source, timeCol{&e.CreatedAt}, timeCol{&e.UpdatedAt}, nullTimeCol{&e.FailingSince},
			nullTimeCol{&e.WarnedAt}, nullTimeCol{&e.LastSuccessAt}); err != nil {
			return nil, err
		}
		e.Ordered, e.AllowPrivate, e.AllowHTTP, e.Enabled = ordered == 1, private == 1, http == 1, enabled == 1
		if err := errors.Join(json.Unmarshal([]byte(types), &e.Types), json.Unmarshal([]byte(secrets), &e.Secrets),
			json.Unmarshal([]byte(headers), &e.Headers)); err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Endpoint implements store.EndpointStore.
func (s *DB) Endpoint(ctx context.Context, id string) (*store.Endpoint, error) {
	rows, err := s.writer.QueryContext(ctx, s.q(`SELECT `+endpointCols+` FROM endpoints WHERE id = ?`), id)
	if err != nil {
		return nil, s.fail("endpoint", err)
	}
	eps, err := s.scanEndpoints(rows)
	if err != nil {
		return nil, s.fail("endpoint", err)
	}
	if len(eps) == 0 {
		return nil, s.fail("endpoint "+id, store.ErrNotFound)
	}
	return &eps[0], nil
}

// Endpoints implements store.EndpointStore.
func (s *DB) Endpoints(ctx context.Context, tenant string) ([]store.Endpoint, error) {
	query, args := `SELECT `+endpointCols+` FROM endpoints`, []any{}
	if tenant != "" {
		query += ` WHERE tenant = ?`
		args = append(args, tenant)
	}
	rows, err := s.writer.QueryContext(ctx, s.q(query+` ORDER BY id`), args...)
	if err != nil {
		return nil, s.fail("endpoints", err)
	}
	eps, err := s.scanEndpoints(rows)
	return eps, s.fail("endpoints", err)
}

// DeleteEndpoint implements store.EndpointStore.
func (s *DB) DeleteEndpoint(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM endpoints WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM endpoint_attempts WHERE endpoint_id = ?`), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM endpoint_dead_letters WHERE endpoint_id = ?`), id)
		return err
	})
	return s.fail("delete endpoint "+id, err)
}

// SetEndpointEnabled implements store.EndpointStore.
func (s *DB) SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string) (bool, error) {
	now := s.now()
	var res sql.Result
	var err error
	if enabled {
		// Health starts afresh: the failures before the disable do not count.
		res, err = s.writer.ExecContext(ctx, s.q(`UPDATE endpoints SET enabled = 1, disabled_reason = '',
			disabled_at = NULL, failing_since = NULL, warned_at = NULL, updated_at = ? WHERE id = ? AND enabled = 0`),
			s.timeArg(now), id)
	} else {
		res, err = s.writer.ExecContext(ctx, s.q(`UPDATE endpoints SET enabled = 0, disabled_reason = ?,
			disabled_at = ?, updated_at = ? WHERE id = ? AND enabled = 1`), truncateError(reason), s.timeArg(now),
			s.timeArg(now), id)
	}
	if err != nil {
		return false, s.fail("set endpoint enabled "+id, err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		if _, err := s.Endpoint(ctx, id); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// RecordEndpointOutcome implements store.EndpointStore.
func (s *DB) RecordEndpointOutcome(ctx context.Context, id string, ok bool, at time.Time) (*store.Endpoint, error) {
	var err error
	// Outcomes come from several processes, in any order: a success
	// clears a failing that began no later than it, and a failure starts
	// one only when no success came after its attempt began.
	t := s.timeArg(at)
	if ok {
		_, err = s.writer.ExecContext(ctx, s.q(`UPDATE endpoints SET
			failing_since = CASE WHEN failing_since <= ? THEN NULL ELSE failing_since END,
			warned_at = CASE WHEN failing_since <= ? THEN NULL ELSE warned_at END,
			last_success_at = CASE WHEN last_success_at IS NULL OR last_success_at < ? THEN ? ELSE last_success_at END
			WHERE id = ?`), t, t, t, t, id)
	} else {
		_, err = s.writer.ExecContext(ctx, s.q(`UPDATE endpoints SET failing_since = ? WHERE id = ?
			AND failing_since IS NULL AND (last_success_at IS NULL OR last_success_at <= ?)`), t, id, t)
	}
	if err != nil {
		return nil, s.fail("record endpoint outcome "+id, err)
	}
	return s.Endpoint(ctx, id)
}

// RestartEndpointFailing implements store.EndpointStore.
func (s *DB) RestartEndpointFailing(ctx context.Context, id string, at time.Time) (*store.Endpoint, error) {
	if _, err := s.writer.ExecContext(ctx, s.q(`UPDATE endpoints SET failing_since = ?, warned_at = NULL
		WHERE id = ? AND failing_since IS NOT NULL`), s.timeArg(at), id); err != nil {
		return nil, s.fail("restart endpoint failing "+id, err)
	}
	return s.Endpoint(ctx, id)
}

// MarkEndpointWarned implements store.EndpointStore.
func (s *DB) MarkEndpointWarned(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := s.writer.ExecContext(ctx, s.q(`UPDATE endpoints SET warned_at = ? WHERE id = ? AND warned_at IS NULL`),
		s.timeArg(at), id)
	if err != nil {
		return false, s.fail("mark endpoint warned "+id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AddEndpointAttempts implements store.EndpointStore. On SQLite the rows
// are inserted under a context that is never done: the SQLite driver
// starts a goroutine per statement to interrupt it when ctx ends (a fifth
// of a batch's CPU in the delivery bench's profile); ctx still ends the
// transaction (database/sql rolls it back, and the next row fails).
func (s *DB) AddEndpointAttempts(ctx context.Context, as ...store.EndpointAttempt) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ctx := ctx
		if s.d.Driver == "sqlite" {
			ctx = context.WithoutCancel(ctx)
		}
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO endpoint_attempts (endpoint_id, fact_id, attempt, at,
			status, latency_ms, response, error, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, a := range as {
			if a.At.IsZero() {
				a.At = s.now()
			}
			if _, err := stmt.ExecContext(ctx, a.EndpointID, a.FactID, a.Attempt, s.timeArg(a.At), a.Status,
				a.LatencyMS, a.Response, truncateError(a.Error), s.nullTimeArg(a.NextAttemptAt)); err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail("add endpoint attempts", err)
}

// EndpointAttempts implements store.EndpointStore.
func (s *DB) EndpointAttempts(ctx context.Context, f store.EndpointAttemptFilter) ([]store.EndpointAttempt, error) {
	query := `SELECT id, endpoint_id, fact_id, attempt, at, status, latency_ms, response, error, next_attempt_at
		FROM endpoint_attempts WHERE endpoint_id = ?`
	args := []any{f.EndpointID}
	if f.FactID != "" {
		query += ` AND fact_id = ?`
		args = append(args, f.FactID)
	}
	if f.BeforeID > 0 {
		query += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	rows, err := s.reader.QueryContext(ctx, s.q(query+` ORDER BY id DESC`+limitClause(f.Limit)), args...)
	if err != nil {
		return nil, s.fail("endpoint attempts", err)
	}
	defer rows.Close()
	var out []store.EndpointAttempt
	for rows.Next() {
		var a store.EndpointAttempt
		if err := rows.Scan(&a.ID, &a.EndpointID, &a.FactID, &a.Attempt, timeCol{&a.At}, &a.Status, &a.LatencyMS,
			&a.Response, &a.Error, nullTimeCol{&a.NextAttemptAt}); err != nil {
			return nil, s.fail("endpoint attempts: scan", err)
		}
		out = append(out, a)
	}
	return out, s.fail("endpoint attempts", rows.Err())
}

// PruneEndpointAttempts implements store.EndpointStore.
func (s *DB) PruneEndpointAttempts(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.writer.ExecContext(ctx, s.q(`DELETE FROM endpoint_attempts WHERE at < ?`), s.timeArg(before))
	if err != nil {
		return 0, s.fail("prune endpoint attempts", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// AddEndpointDeadLetter implements store.EndpointStore.
func (s *DB) AddEndpointDeadLetter(ctx context.Context, d store.EndpointDeadLetter) error {
	if d.FailedAt.IsZero() {
		d.FailedAt = s.now()
	}
	_, err := s.writer.ExecContext(ctx, s.q(`INSERT INTO endpoint_dead_letters (endpoint_id, fact_id, subject, body,
		attempts, last_error, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (endpoint_id, fact_id) DO UPDATE SET subject = excluded.subject, body = excluded.body,
		attempts = excluded.attempts, last_error = excluded.last_error, failed_at = excluded.failed_at`),
		d.EndpointID, d.FactID, d.Subject, string(d.Body), d.Attempts, truncateError(d.LastError), s.timeArg(d.FailedAt))
	return s.fail("add endpoint dead letter", err)
}

// EndpointDeadLetters implements store.EndpointStore.
func (s *DB) EndpointDeadLetters(ctx context.Context, endpointID string, limit int) ([]store.EndpointDeadLetter, error) {
	rows, err := s.reader.QueryContext(ctx, s.q(`SELECT endpoint_id, fact_id, subject, body, attempts, last_error,
		failed_at FROM endpoint_dead_letters WHERE endpoint_id = ? ORDER BY failed_at, fact_id`+limitClause(limit)), endpointID)
	if err != nil {
		return nil, s.fail("endpoint dead letters", err)
	}
	defer rows.Close()
	var out []store.EndpointDeadLetter
	for rows.Next() {
		var d store.EndpointDeadLetter
		var body string
		if err := rows.Scan(&d.EndpointID, &d.FactID, &d.Subject, &body, &d.Attempts, &d.LastError,
			timeCol{&d.FailedAt}); err != nil {
			return nil, s.fail("endpoint dead letters: scan", err)
		}
		d.Body = []byte(body)
		out = append(out, d)
	}
	return out, s.fail("endpoint dead letters", rows.Err())
}

// DeleteEndpointDeadLetters implements store.EndpointStore.
func (s *DB) DeleteEndpointDeadLetters(ctx context.Context, endpointID string, factIDs []string) (int64, error) {
	query, args := `DELETE FROM endpoint_dead_letters WHERE endpoint_id = ?`, []any{endpointID}
	if len(factIDs) > 0 {
		query += ` AND fact_id IN (` + placeholders(len(factIDs)) + `)`
		for _, id := range factIDs {
			args = append(args, id)
		}
	}
	res, err := s.writer.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return 0, s.fail("delete endpoint dead letters", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DeliveryCursor implements store.EndpointStore.
func (s *DB) DeliveryCursor(ctx context.Context, name string) (uint64, bool, error) {
	var seq int64
	err := s.writer.QueryRowContext(ctx, s.q(`SELECT seq FROM delivery_cursors WHERE name = ?`), name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.fail("delivery cursor "+name, err)
	}
	return uint64(seq), true, nil
}

// AdvanceDeliveryCursor implements store.EndpointStore.
func (s *DB) AdvanceDeliveryCursor(ctx context.Context, name string, seq uint64) error {
	_, err := s.writer.ExecContext(ctx, s.q(`INSERT INTO delivery_cursors (name, seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
		WHERE delivery_cursors.seq < excluded.seq`), name, int64(seq), s.timeArg(s.now()))
	return s.fail("advance delivery cursor "+name, err)
}
