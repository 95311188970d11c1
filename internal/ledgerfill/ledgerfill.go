// Package ledgerfill grows a migrated ledger with a year of history in a
// few set-based statements (a recursive CTE on SQLite, generate_series on
// PostgreSQL), for the query-plan test and `qyshook bench dispatcher
// -ledger-rows`. The rows have the shapes the dispatcher writes: three
// tenants (80 % default), mostly COMPLETE contracts, two signatories and a
// document each, events and outbox facts (all published but the newest
// 200), certifications, dead letters, audit entries and reconcile runs.
package ledgerfill

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Dialect names the database: "sqlite" or "postgres".
type Dialect string

// The dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Sizes is how many rows Fill writes for n: events and outbox facts n,
// contracts and documents n/2, signatories n, certifications n/100+1, and
// 1,000 each of dead letters, audit entries and reconcile runs.
type Sizes struct {
	Events, Outbox, Contracts, Documents, Signatories, Certifications, Small int
}

// SizesFor returns the sizes Fill uses for n.
func SizesFor(n int) Sizes {
	return Sizes{Events: n, Outbox: n, Contracts: n / 2, Documents: n / 2, Signatories: 2 * (n / 2),
		Certifications: n/100 + 1, Small: 1000}
}

// Options tunes Fill.
type Options struct {
	// Prefix starts every generated id ("" for none), so a second fill
	// of one ledger does not collide with the first.
	Prefix string
	// End is the time of the newest row (default now); rows spread over
	// the year before it.
	End time.Time
	// Progress, if set, is called after each statement.
	Progress func(stmt string, took time.Duration)
}

// Fill writes the rows of SizesFor(n) into the migrated ledger db. It does
// not analyze or vacuum.
func Fill(ctx context.Context, db *sql.DB, d Dialect, n int, o Options) error {
	if n < 2 {
		return fmt.Errorf("ledgerfill: n = %d, want at least 2", n)
	}
	end := o.End
	if end.IsZero() {
		end = time.Now()
	}
	g := gen{d: d, p: o.Prefix, base: end.Add(-365 * 24 * time.Hour).Unix(), span: 365 * 24 * 3600}
	stmts := g.statements(SizesFor(n))
	if d == SQLite {
		// One connection for the pragmas: a big page cache and no fsync
		// while filling (a test or benchmark ledger), both reset after.
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("ledgerfill: %w", err)
		}
		defer conn.Close()
		for _, p := range []string{"PRAGMA cache_size = -524288", "PRAGMA synchronous = OFF"} {
			if _, err := conn.ExecContext(ctx, p); err != nil {
				return fmt.Errorf("ledgerfill: %s: %w", p, err)
			}
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA cache_size = -2000")
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL")
		}()
		return fill(ctx, conn, stmts, o)
	}
	return fill(ctx, db, stmts, o)
}

func fill(ctx context.Context, db interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, stmts []string, o Options) error {
	for _, s := range stmts {
		start := time.Now()
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("ledgerfill: %w\n%s", err, s)
		}
		if o.Progress != nil {
			o.Progress(s, time.Since(start))
		}
	}
	return nil
}

// gen writes the dialect's expressions.
type gen struct {
	d    Dialect
	p    string // id prefix
	base int64  // unix seconds of the oldest row
	span int64  // seconds the rows cover
}

// series returns the WITH prefix and the FROM source of rows x = 0..count-1.
func (g gen) series(count int) (with, from string) {
	if g.d == SQLite {
		return fmt.Sprintf("WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x + 1 < %d) ", count), "s"
	}
	return "", fmt.Sprintf("generate_series(0::bigint, %d) AS s(x)", count-1)
}

// at is the time of position expr among count rows, spread over the span.
func (g gen) at(expr string, count int) string {
	secs := fmt.Sprintf("(%d + (%s) * %d / %d)", g.base, expr, g.span, count)
	if g.d == SQLite {
		return "strftime('%Y-%m-%dT%H:%M:%S', " + secs + ", 'unixepoch') || '.000000Z'"
	}
	return "to_timestamp(" + secs + ")"
}

func (g gen) json(expr string) string {
	if g.d == SQLite {
		return expr
	}
	return "(" + expr + ")::json"
}

func (g gen) blob(expr string) string {
	if g.d == SQLite {
		return "CAST(" + expr + " AS BLOB)"
	}
	return "convert_to(" + expr + ", 'UTF8')"
}

// id is the text id letter+number of expr, zero-padded so ids sort as
// the numbers do and the fill appends to the key indexes.
func (g gen) id(letter, expr string) string {
	if g.d == SQLite {
		return "printf('" + g.p + letter + "%010d', " + expr + ")"
	}
	return "'" + g.p + letter + "' || lpad((" + expr + ")::text, 10, '0')"
}

// tenantOf contract number expr: 80 % default, 10 % each of two others.
func tenantOf(expr string) string {
	return "CASE WHEN (" + expr + ") % 10 < 8 THEN 'default' WHEN (" + expr + ") % 10 = 8 THEN 't1' ELSE 't2' END"
}

// statusOf contract number expr: mostly COMPLETE, some in progress and
// voided.
func statusOf(expr string) string {
	return "CASE (" + expr + ") % 20 WHEN 0 THEN 'DRAFT' WHEN 1 THEN 'SIGNING' WHEN 2 THEN 'SIGNING' WHEN 3 THEN 'INVALIDED' " +
		"WHEN 4 THEN 'TERMINATED' WHEN 5 THEN 'FILLING' ELSE 'COMPLETE' END"
}

// signed: statusOf(x) is a signed status.
const signed = "(x % 20 NOT IN (0, 1, 2, 5))"

const pad = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua"

func (g gen) statements(z Sizes) []string {
	var out []string
	add := func(count int, format string, args ...any) {
		with, from := g.series(count)
		out = append(out, with+fmt.Sprintf(format, args...)+" FROM "+from)
	}
	nc, n := z.Contracts, z.Events
	add(nc, `INSERT INTO contracts (tenant, id, biz_id, subject, status, confirmed, signed_count, updated_at, completed_at,
		detail, fetched_at, fetch_ended_at, fact_seq)
		SELECT %s, %s, %s, 'contract ' || x || ' %s', %s, (x %% 50 <> 0), 2, %s, NULL, %s, %s, %s, 2`,
		tenantOf("x"), g.id("c", "x"), g.id("biz-", "x"), pad[:20], statusOf("x"), g.at("x", nc),
		g.json(`'{"id":"' || `+g.id("c", "x")+` || '","pad":"`+pad+`"}'`), g.at("x", nc), g.at("x", nc))
	add(z.Signatories, `INSERT INTO signatories (tenant, contract_id, id, tenant_type, tenant_name, status, serial_no)
		SELECT %s, %s, %s, 'PERSONAL', 'name ' || x, 'SIGNED', x %% 2`, tenantOf("x / 2"), g.id("c", "x / 2"), g.id("s", "x"))
	add(z.Documents, `INSERT INTO documents (tenant, id, contract_id, title, sha256, size, path, fetched_at, archive_state,
		attempts, last_error, next_attempt_at, last_attempt_at)
		SELECT %s, %s, %s, 'document ' || x,
		CASE WHEN %s AND x %% 1000 NOT IN (5, 7) THEN 'ab' || x ELSE '' END, 1000, '', NULL,
		CASE WHEN NOT %s THEN '' WHEN x %% 1000 = 5 THEN 'failed' WHEN x %% 1000 = 7 THEN 'pending' ELSE 'archived' END,
		0, '', CASE WHEN x %% 1000 = 7 THEN %s END, CASE WHEN %s THEN %s END`,
		tenantOf("x"), g.id("d", "x"), g.id("c", "x"), signed, signed, g.at("x", z.Documents), signed, g.at("x", z.Documents))
	add(n, `INSERT INTO events (id, tenant, kind, type, contract_id, source, received_at, applied_at, payload)
		SELECT %s, %s, 'contract', 'SIGNED', %s, 'callback', %s, %s, %s`,
		g.id("e", "x"), tenantOf("x / 2"), g.id("c", "x / 2"), g.at("x", n), g.at("x", n), g.json(`'{"n":' || x || ',"pad":"`+pad+`"}'`))
	add(z.Outbox, `INSERT INTO outbox (id, subject, payload, created_at, published_at, tenant, contract_id, seq)
		SELECT %s, 'qys.ledger.default.contract.c' || (x / 2), %s, %s, CASE WHEN x < %d THEN %s END,
		%s, %s, 1 + x %% 2`,
		g.id("f", "x"), g.blob(`'{"n":' || x || ',"pad":"`+pad+`"}'`), g.at("x", z.Outbox), z.Outbox-200, g.at("x", z.Outbox),
		tenantOf("x / 2"), g.id("c", "x / 2"))
	add(z.Certifications, `INSERT INTO certifications (tenant, request_id, kind, status, success, mode, name, fail_reason, updated_at,
		confirmed, pending) SELECT %s, %s, 'personal', '1', (x %% 10 <> 0), '', 'name', '', %s, (x %% 10 <> 0), (x %% 10 = 0)`,
		tenantOf("x"), g.id("r", "x"), g.at("x", z.Certifications))
	add(z.Small, `INSERT INTO dead_letters (event_id, tenant, consumer, subject, stream_seq, reason, deliveries, payload, created_at)
		SELECT %s, 'default', 'qyshook_ledger', 'qys.callbacks.default.contract', 0, 'contract_not_found', 8, %s, %s`,
		g.id("e", "x * 997"), g.blob("'{}'"), g.at("x", z.Small))
	add(z.Small, `INSERT INTO audit (at, who, action, selector, count, outcome, job_id)
		SELECT %s, 'operator:ab12', 'POST /dead-letters/{id}/retry', '{}', 1, 'ok', ''`, g.at("x", z.Small))
	add(z.Small, `INSERT INTO reconcile_runs (id, started_at, finished_at, started_by, since, checked, triggered, requeued, error)
		SELECT %s, %s, %s, 'operator:ab12', %s, 10, 1, 0, ''`, g.id("run-", "x"), g.at("x", z.Small), g.at("x", z.Small), g.at("x", z.Small))
	return out
}
