package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qyshook/qyshook/store"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// likeEscaper escapes LIKE's wildcards (with ESCAPE '\') so a search
// text matches itself.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

const contractCols = `tenant, id, biz_id, subject, status, confirmed, fetched_at, fetch_ended_at, updated_at, completed_at, detail`

func scanContract(sc interface{ Scan(...any) error }, c *store.Contract) error {
	var detail []byte
	var fetched, ended *time.Time
	err := sc.Scan(&c.Tenant, &c.ID, &c.BizID, &c.Subject, &c.Status, &c.Confirmed,
		nullTimeCol{&fetched}, nullTimeCol{&ended}, timeCol{&c.UpdatedAt}, nullTimeCol{&c.CompletedAt}, &detail)
	if len(detail) > 0 {
		c.Detail = detail
	}
	if fetched != nil {
		c.FetchedAt = *fetched
	}
	if ended != nil {
		c.FetchEndedAt = *ended
	}
	return err
}

// Contract implements store.Ledger.
func (s *DB) Contract(ctx context.Context, tenant, id string) (*store.Contract, error) {
	c, err := s.loadContract(ctx, s.reader, tenant, id, "", true)
	if err != nil {
		return nil, s.fail("contract "+id, err)
	}
	return c, nil
}

// loadContract reads one contract (locking the row with lock, if any)
// with its signatories by serial_no and, when docs, its documents by id.
// Deciding a change needs only the row and the signatories, so the locking
// read skips the documents and saves a query per event.
func (s *DB) loadContract(ctx context.Context, q querier, tenant, id, lock string, docs bool) (*store.Contract, error) {
	var c store.Contract
	err := scanContract(q.QueryRowContext(ctx, s.q(`SELECT `+contractCols+
		` FROM contracts WHERE tenant = ? AND id = ?`+lock), tenant, id), &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("select contract: %w", err)
	}
	if c.Signatories, err = s.signatories(ctx, q, tenant, id); err != nil {
		return nil, err
	}
	if !docs {
		return &c, nil
	}
	if c.Documents, err = s.documents(ctx, q, tenant, id); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *DB) signatories(ctx context.Context, q querier, tenant, contractID string) ([]store.Signatory, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT id, tenant_type, tenant_name, status, serial_no
		FROM signatories WHERE tenant = ? AND contract_id = ? ORDER BY serial_no, id`), tenant, contractID)
	if err != nil {
		return nil, fmt.Errorf("select signatories: %w", err)
	}
	defer rows.Close()
	var out []store.Signatory
	for rows.Next() {
		var sg store.Signatory
		if err := rows.Scan(&sg.ID, &sg.TenantType, &sg.TenantName, &sg.Status, &sg.SerialNo); err != nil {
			return nil, fmt.Errorf("scan signatory: %w", err)
		}
		out = append(out, sg)
	}
	return out, rows.Err()
}

// tenantsOfContracts lists the tenants that have contracts, one primary
// key probe per tenant (a loose index scan) rather than a walk of every row.
const tenantsOfContracts = `WITH RECURSIVE t(v) AS (SELECT MIN(tenant) FROM contracts
	UNION ALL SELECT (SELECT MIN(tenant) FROM contracts WHERE tenant > t.v) FROM t WHERE t.v IS NOT NULL)
	SELECT v FROM t WHERE v IS NOT NULL`

// contractWhere is the WHERE clause (after "1 = 1") of a contract
// filter, without its cursor and order.
func (s *DB) contractWhere(f store.ContractFilter) (string, []any) {
	query := ""
	var args []any
	if f.Tenant != "" {
		query += ` AND tenant = ?`
		args = append(args, f.Tenant)
	}
	if len(f.Status) > 0 {
		query += ` AND status IN (` + placeholders(len(f.Status)) + `)`
		for _, st := range f.Status {
			args = append(args, st)
		}
	}
	if f.ID != "" {
		query += ` AND id = ?`
		args = append(args, f.ID)
		if f.Tenant == "" {
			// No index on id alone (migration 0007 says why): look the id
			// up under each tenant through the primary key, the tenants
			// found by a loose scan of it.
			query += ` AND tenant IN (` + tenantsOfContracts + `)`
		}
	}
	if f.BizID != "" {
		// biz_id <> '' lets both planners use the partial contracts_biz_id.
		query += ` AND biz_id = ? AND biz_id <> ''`
		args = append(args, f.BizID)
	}
	if f.Subject != "" {
		query += ` AND LOWER(subject) LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(f.Subject))+"%")
	}
	if !f.UpdatedBefore.IsZero() {
		query += ` AND updated_at < ?`
		args = append(args, s.timeArg(f.UpdatedBefore))
	}
	if !f.UpdatedSince.IsZero() {
		query += ` AND updated_at >= ?`
		args = append(args, s.timeArg(f.UpdatedSince))
	}
	if f.IDPrefix != "" {
		query += ` AND substr(id, 1, ?) = ?`
		args = append(args, utf8.RuneCountInString(f.IDPrefix), f.IDPrefix)
	}
	return query, args
}

// CountContracts counts the contracts a filter selects (its cursor and
// limit aside).
func (s *DB) CountContracts(ctx context.Context, f store.ContractFilter) (int64, error) {
	where, args := s.contractWhere(f)
	var n int64
	if err := s.reader.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM contracts WHERE 1 = 1`+where), args...).Scan(&n); err != nil {
		return 0, s.fail("count contracts", err)
	}
	return n, nil
}

// Contracts implements store.Ledger. The rows come without signatories
// and documents (use Contract for those). Limit <= 0 means no limit.
func (s *DB) Contracts(ctx context.Context, f store.ContractFilter) ([]store.Contract, error) {
	where, args := s.contractWhere(f)
	query := `SELECT ` + contractCols + ` FROM contracts WHERE 1 = 1` + where
	order, cmp := ` ORDER BY updated_at DESC, tenant DESC, id DESC`, "<"
	if f.OldestFirst {
		order, cmp = ` ORDER BY updated_at, tenant, id`, ">"
	}
	if f.After != nil {
		// The first bound repeats what the OR implies, so both planners
		// start the index walk at the cursor instead of filtering from
		// the first row.
		query += ` AND updated_at ` + cmp + `= ? AND (updated_at ` + cmp + ` ? OR (updated_at = ? AND (tenant ` + cmp + ` ? OR (tenant = ? AND id ` + cmp + ` ?))))`
		at := s.timeArg(f.After.UpdatedAt)
		args = append(args, at, at, at, f.After.Tenant, f.After.Tenant, f.After.ID)
	}
	query += order + limitClause(f.Limit)
	rows, err := s.reader.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.fail("contracts", err)
	}
	defer rows.Close()
	var out []store.Contract
	for rows.Next() {
		var c store.Contract
		if err := scanContract(rows, &c); err != nil {
			return nil, s.fail("contracts: scan", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("contracts", err)
	}
	return out, nil
}

// Events implements store.Ledger: the events of one contract in the order
// they were applied.
func (s *DB) Events(ctx context.Context, tenant, contractID string) ([]store.Event, error) {
	rows, err := s.reader.QueryContext(ctx, s.q(`SELECT id, tenant, kind, type, contract_id, source,
		received_at, applied_at, payload, COALESCE(trace_id, '') FROM events
		WHERE tenant = ? AND contract_id = ? ORDER BY applied_at, id`), tenant, contractID)
	if err != nil {
		return nil, s.fail("events", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var ev store.Event
		var payload []byte
		if err := rows.Scan(&ev.ID, &ev.Tenant, &ev.Kind, &ev.Type, &ev.ContractID, &ev.Source,
			timeCol{&ev.ReceivedAt}, timeCol{&ev.AppliedAt}, &payload, &ev.TraceID); err != nil {
			return nil, s.fail("events: scan", err)
		}
		if len(payload) > 0 {
			ev.Payload = payload
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("events", err)
	}
	return out, nil
}
