package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/qyshook/qyshook/internal/ledgerfill"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/postgres"
	qsqlite "github.com/qyshook/qyshook/store/sqlite"
)

// TestQueryPlans builds a big ledger with set-based statements
// (internal/ledgerfill: events and outbox facts n; contracts and documents
// n/2; signatories n), runs every method of the ledger the stages, the
// admin API and the CLI use, through a connection that records each
// statement, then explains every recorded statement (SQLite: EXPLAIN QUERY
// PLAN, as production runs it, without ANALYZE; PostgreSQL: EXPLAIN after
// VACUUM ANALYZE) and fails on a full scan of a big table. Plans, never
// times, are asserted.
//
// n is 200,000 by default (filling takes about a minute on PostgreSQL on a
// 2-core machine), 1,000,000 with QYSHOOK_TEST_BIG=1, any number >= 1,000
// with QYSHOOK_TEST_LEDGER_ROWS, and 20,000 with -short, where PostgreSQL's
// plans are printed but not asserted (at that size a sequential scan is
// its right choice). go test -v prints every plan.
func TestQueryPlans(t *testing.T) {
	n := 200_000
	if os.Getenv("QYSHOOK_TEST_BIG") == "1" {
		n = 1_000_000
	}
	if testing.Short() {
		n = 20_000
	}
	if v := os.Getenv("QYSHOOK_TEST_LEDGER_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			t.Fatalf("QYSHOOK_TEST_LEDGER_ROWS=%q: want an integer >= 1000", v)
		}
	}
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) { testQueryPlans(t, kind, n, kind == testdb.SQLite || n >= 100_000) })
	}
}

// bigTables are the tables that grow with the traffic; a full scan of one
// of them is a failure unless the statement is listed in allowed.
var bigTables = map[string]bool{"events": true, "contracts": true, "outbox": true, "documents": true, "signatories": true}

// wholeTable lists the statements that read a whole big table by nature
// (counts over it), matched by a fragment of their SQL. On SQLite they
// must still read an index only (COVERING INDEX), never the table.
var wholeTable = []string{
	"SELECT archive_state, COUNT(*) FROM documents GROUP BY archive_state",
	"SELECT tenant, status, COUNT(*) FROM contracts GROUP BY tenant, status",
}

// allowed lists the statements PostgreSQL may answer with a sequential
// scan, and why (docs/ledger.md repeats them).
var allowed = map[string]string{
	// GET /contracts?subject=: a substring can use no b-tree index. SQLite
	// walks contracts_updated newest first and stops at the page's limit;
	// PostgreSQL, expecting few matches, reads the table.
	"LOWER(subject) LIKE": "substring search",
	// The reconciler's safety net for documents never queued although
	// their contract is signed (migration 0004 queued those once; the
	// dispatcher queues them in the commit since): PostgreSQL hashes the
	// signed contracts once per pass rather than probing them per document.
	"d.archive_state = '' AND EXISTS": "reconcile: never-queued documents",
}

// mustUse lists statements (by a fragment of their SQL) that must read the
// named index, whatever the table's size: the certification counts seek
// the index led by their flag (migration 0010), never read the table.
var mustUse = map[string]string{
	"FROM certifications WHERE confirmed = FALSE GROUP BY tenant": "certifications_unconfirmed",
	"FROM certifications WHERE pending = TRUE GROUP BY tenant":    "certifications_pending_count",
}

type ledgerDBs struct {
	kind testdb.Kind
	raw  *sql.DB // unrecorded, for generation and EXPLAIN
	rec  *recorder
	l    *sqlstore.DB
}

func testQueryPlans(t *testing.T, kind testdb.Kind, n int, assert bool) {
	ctx := context.Background()
	u := testdb.URL(t, kind)
	dbs := openRecorded(t, kind, u)
	start := time.Now()
	generate(t, ctx, dbs, n)
	t.Logf("%s: generated a ledger of %d events in %v", kind, n, time.Since(start).Round(time.Millisecond))
	workload(t, ctx, dbs.l, n)
	stmts := dbs.rec.statements()
	used := map[string]bool{}
	if len(stmts) < 40 {
		t.Fatalf("recorded only %d statements; the workload misses some", len(stmts))
	}
	for _, st := range stmts {
		plan, err := explain(ctx, dbs, st)
		if err != nil {
			t.Errorf("explain %s: %v", oneLine(st.SQL), err)
			continue
		}
		if testing.Verbose() {
			t.Logf("%s\n  plan:\n    %s", oneLine(st.SQL), strings.Join(plan, "\n    "))
		}
		if bad := badPlan(kind, st.SQL, plan); bad != "" && assert {
			t.Errorf("%s: %s\n  plan:\n    %s", oneLine(st.SQL), bad, strings.Join(plan, "\n    "))
		}
		for frag, index := range mustUse {
			if strings.Contains(oneLine(st.SQL), frag) {
				used[frag] = true
				if !strings.Contains(strings.Join(plan, "\n"), index) && (assert || kind == testdb.SQLite) {
					t.Errorf("%s: does not read index %s\n  plan:\n    %s", oneLine(st.SQL), index, strings.Join(plan, "\n    "))
				}
			}
		}
	}
	for frag := range mustUse {
		if !used[frag] {
			t.Errorf("the workload ran no statement with %q", frag)
		}
	}
}

// openRecorded migrates the ledger at u, then opens it again through the
// recording connector for the store and without it for the test.
func openRecorded(t *testing.T, kind testdb.Kind, u string) *ledgerDBs {
	t.Helper()
	l := testdb.OpenURL(t, u) // migrates
	_ = l
	rec := &recorder{}
	var raw, recDB *sql.DB
	var d sqlstore.Dialect
	switch kind {
	case testdb.SQLite:
		path := strings.TrimPrefix(u, "sqlite://")
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		raw = sql.OpenDB(dsnConnector{d: &sqlite.Driver{}, dsn: dsn})
		recDB = sql.OpenDB(recConnector{inner: dsnConnector{d: &sqlite.Driver{}, dsn: dsn}, rec: rec})
		raw.SetMaxOpenConns(1)
		recDB.SetMaxOpenConns(1)
		d = qsqlite.Dialect
	default:
		c, err := stdlib.GetDefaultDriver().(*stdlib.Driver).OpenConnector(u)
		if err != nil {
			t.Fatal(err)
		}
		raw = sql.OpenDB(c)
		recDB = sql.OpenDB(recConnector{inner: c, rec: rec})
		d = postgres.Dialect
	}
	t.Cleanup(func() { _ = raw.Close(); _ = recDB.Close() })
	return &ledgerDBs{kind: kind, raw: raw, rec: rec, l: sqlstore.New(d, recDB, nil)}
}

func generate(t *testing.T, ctx context.Context, dbs *ledgerDBs, n int) {
	t.Helper()
	d := ledgerfill.SQLite
	if dbs.kind == testdb.Postgres {
		d = ledgerfill.Postgres
	}
	err := ledgerfill.Fill(ctx, dbs.raw, d, n, ledgerfill.Options{Progress: func(s string, took time.Duration) {
		if testing.Verbose() {
			t.Logf("generated in %v: %.90s…", took.Round(time.Millisecond), oneLine(s[strings.Index(s, "INSERT"):]))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if d == ledgerfill.Postgres {
		// What autovacuum does to a table this size: plans are chosen
		// with the statistics.
		if _, err := dbs.raw.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			t.Fatal(err)
		}
	}
}

// cid is the id ledgerfill gives contract number n.
func cid(n int) string { return fmt.Sprintf("c%010d", n) }

// workload calls every method of the ledger the stages, the admin API
// and the CLI use, with the filters they pass.
func workload(t *testing.T, ctx context.Context, l *sqlstore.DB, n int) {
	t.Helper()
	now := time.Now().UTC()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	fact := func(id, contract string) store.Fact {
		return store.Fact{ID: id, Subject: "qys.ledger.default.contract." + contract, Tenant: "default", ContractID: contract,
			Payload: []byte(`{"type":"contract.status"}`)}
	}
	contract := func(id, status string, fetched time.Time) store.Contract {
		return store.Contract{Tenant: "default", ID: id, Status: status, Confirmed: true, FetchedAt: fetched, FetchEndedAt: fetched.Add(time.Millisecond),
			Signatories: []store.Signatory{{ID: "s-" + id, TenantType: "PERSONAL", Status: "SIGNED"}},
			Documents:   []store.Document{{ID: "d-" + id, Title: "doc"}}}
	}
	ev := func(id, contract string) store.Event {
		return store.Event{ID: id, Tenant: "default", Kind: "contract", Type: "SIGNED", ContractID: contract, Source: "callback"}
	}
	// The dispatcher: a batch with a new contract and a known one moving
	// to a signed status (documents queued), and a single apply.
	_, _, err := l.ApplyContracts(ctx, []store.ContractChange{
		{Event: ev("w-1", "w-new"), Contract: contract("w-new", "SIGNING", now), Facts: []store.Fact{fact("wf-1", "w-new")}},
		{Event: ev("w-2", cid(1)), Contract: contract(cid(1), "COMPLETE", now), Facts: []store.Fact{fact("wf-2", cid(1))}, ArchiveDocuments: true},
	})
	must("apply contracts", err)
	_, err = l.ApplyContract(ctx, store.ContractChange{Event: ev("w-3", cid(20)), Contract: contract(cid(20), "SIGNING", now),
		Facts: []store.Fact{{ID: "wf-3", Subject: "x", Tenant: "default", ContractID: cid(20), AfterPrevious: true, Payload: []byte(`{}`)}}})
	must("apply contract", err)
	// The same state seen by a later fetch: only the fetch times move.
	_, err = l.ApplyContract(ctx, store.ContractChange{Event: ev("w-4", cid(20)), Contract: contract(cid(20), "SIGNING", now.Add(time.Second))})
	must("reconfirm contract", err)
	_, err = l.ApplyCertificationChange(ctx, store.CertificationChange{
		Event:         store.Event{ID: "w-5", Tenant: "default", Kind: "auth.personal", Type: "1", Source: "callback"},
		Certification: store.Certification{Tenant: "default", RequestID: "r0000000010", Kind: "personal", Status: "1", Success: true, Confirmed: true},
	})
	must("apply certification", err)
	// The archiver.
	docs, err := l.ClaimDocuments(ctx, "w-owner", 8, time.Minute)
	must("claim documents", err)
	if len(docs) == 0 {
		t.Fatal("no due document claimed")
	}
	_, err = l.RenewDocumentLease(ctx, "w-owner", docs[0].Tenant, docs[0].ID, time.Minute)
	must("renew lease", err)
	_, err = l.FailDocument(ctx, store.DocumentFailure{Tenant: docs[0].Tenant, ID: docs[0].ID, Owner: "w-owner", Err: "boom", RetryAt: now})
	must("fail document", err)
	_, err = l.ArchiveDocument(ctx, "default", store.Document{ID: "d-" + cid(1), ContractID: cid(1), SHA256: "ff", Path: "p", LeaseOwner: "w-owner"},
		[]store.Fact{fact("wf-4", cid(1))})
	must("archive document", err)
	_, err = l.DocumentVersions(ctx, "default", "d-"+cid(1))
	must("document versions", err)
	// A later state of a signed contract queues its operation log again,
	// one change at a time and in a batch.
	_, err = l.ApplyContract(ctx, store.ContractChange{Event: ev("w-6", cid(1)), Contract: contract(cid(1), "INVALIDING", now.Add(2*time.Second)),
		ArchiveDocuments: true, RefreshDocuments: []string{"d-" + cid(1)}})
	must("refresh documents", err)
	_, _, err = l.ApplyContracts(ctx, []store.ContractChange{{Event: ev("w-7", cid(1)), Contract: contract(cid(1), "INVALIDED", now.Add(3*time.Second)),
		ArchiveDocuments: true, RefreshDocuments: []string{"d-" + cid(1)}}})
	must("refresh documents (batch)", err)
	_, err = l.DocumentCounts(ctx)
	must("document counts", err)
	_, err = l.DocumentCounts(ctx, store.ArchivePending, store.ArchiveFailed) // the archive queue gauge, every scrape
	must("archive queue counts", err)
	// The relay.
	facts, err := l.Outbox(ctx, 256)
	must("outbox", err)
	ids := make([]string, 0, len(facts))
	for _, f := range facts {
		ids = append(ids, f.ID)
	}
	must("mark published", l.MarkPublished(ctx, ids))
	_, err = l.PruneOutbox(ctx, now.Add(-300*24*time.Hour))
	must("prune outbox", err)
	// Retention, run by the dispatcher.
	_, err = l.PrunePublished(ctx, now.Add(-300*24*time.Hour), 1000)
	must("prune published facts", err)
	_, err = l.PruneEvents(ctx, now.Add(-300*24*time.Hour), 1000)
	must("prune events", err)
	// The reconciler.
	nonTerminal := []string{"DRAFT", "FILLING", "SIGNING", "INVALIDING", "TERMINATING"}
	signed := []string{"COMPLETE", "INVALIDING", "INVALIDED", "TERMINATING", "TERMINATED"}
	stuck := store.ContractFilter{Tenant: "default", Status: nonTerminal, UpdatedBefore: now.Add(-time.Hour), OldestFirst: true, Limit: 500}
	page, err := l.Contracts(ctx, stuck)
	must("stuck contracts", err)
	stuck.After = store.CursorOf(page[len(page)-1])
	_, err = l.Contracts(ctx, stuck)
	must("stuck contracts, next page", err)
	recent := store.ContractFilter{Tenant: "default", Status: signed, UpdatedSince: now.Add(-72 * time.Hour), OldestFirst: true, Limit: 500}
	_, err = l.Contracts(ctx, recent)
	must("signed contracts", err)
	_, err = l.RequeueDocuments(ctx, "default", signed, now.Add(-24*time.Hour))
	must("requeue documents", err)
	pend, err := l.PendingCertifications(ctx, "default", now.Add(-time.Hour), nil, 100)
	must("pending certifications", err)
	key := store.CertKey{UpdatedAt: now.Add(-2 * time.Hour), RequestID: "x"}
	if len(pend) > 0 {
		key = pend[len(pend)-1].Key()
	}
	_, err = l.PendingCertifications(ctx, "default", now.Add(-time.Hour), &key, 100)
	must("pending certifications, next page", err)
	_, err = l.Contract(ctx, "default", cid(2))
	must("contract", err)
	// qyshook verify: every contract, oldest first, by pages.
	all := store.ContractFilter{OldestFirst: true, Limit: 500}
	page, err = l.Contracts(ctx, all)
	must("all contracts", err)
	all.After = store.CursorOf(page[len(page)-1])
	_, err = l.Contracts(ctx, all)
	must("all contracts, next page", err)
	// The admin API and console (GET /contracts with its filters, newest
	// first, one more than the page).
	for _, f := range []store.ContractFilter{
		{Limit: 51},
		{Tenant: "default", Limit: 51},
		{Tenant: "default", Status: []string{"SIGNING"}, Limit: 51},
		{Status: []string{"COMPLETE", "SIGNING"}, Limit: 51},
		{ID: cid(12), Limit: 51},
		{Tenant: "default", ID: cid(12), Limit: 51},
		{BizID: "biz-0000000012", Limit: 51},
		{Tenant: "t1", BizID: "biz-0000000018", Limit: 51},
		{Subject: "contract 123", Limit: 51},
		{Tenant: "default", UpdatedSince: now.Add(-48 * time.Hour), UpdatedBefore: now.Add(-24 * time.Hour), Limit: 51},
	} {
		page, err := l.Contracts(ctx, f)
		must("admin contracts", err)
		if len(page) > 0 {
			f.After = store.CursorOf(page[len(page)-1])
			_, err = l.Contracts(ctx, f)
			must("admin contracts, next page", err)
		}
	}
	_, err = l.Events(ctx, "default", cid(2))
	must("events", err)
	_, err = l.Documents(ctx, store.DocumentFilter{Tenant: "default", States: []string{"pending", "failed", "archived"}, Limit: 10000})
	must("documents", err)
	_, err = l.Documents(ctx, store.DocumentFilter{States: []string{"failed"}, Limit: 10000})
	must("failed documents", err)
	_, err = l.Certifications(ctx, "default", 10000)
	must("certifications", err)
	_, err = l.Certification(ctx, "default", "r0000000010")
	must("certification", err)
	dl, err := l.AddDeadLetter(ctx, store.DeadLetter{EventID: "w-9", Tenant: "default", Consumer: "qyshook_ledger", StreamSeq: 99999, Reason: "x"})
	must("add dead letter", err)
	_, err = l.DeadLetters(ctx, 10000)
	must("dead letters", err)
	_, err = l.DeadLetter(ctx, dl)
	must("dead letter", err)
	must("delete dead letter", l.DeleteDeadLetter(ctx, dl))
	_, err = l.AddAudit(ctx, store.AuditEntry{Who: "operator:ab12", Action: "POST /reconcile"})
	must("add audit", err)
	_, err = l.Audit(ctx, store.AuditFilter{Limit: 51})
	must("audit", err)
	_, err = l.Audit(ctx, store.AuditFilter{BeforeID: 500, Limit: 51})
	must("audit, next page", err)
	must("save reconcile run", l.SaveReconcileRun(ctx, store.ReconcileRun{ID: "run-w", StartedBy: "operator:ab12"}))
	_, err = l.ReconcileRuns(ctx, 10000)
	must("reconcile runs", err)
	_, err = l.Counts(ctx)
	must("counts", err)
	// The evidence stage, every QYSHOOK_EVIDENCE_INTERVAL: the due
	// contracts from the queue (evidence_due), never every ended contract;
	// a bundle saved takes its contract off the queue.
	due, err := l.EvidenceDue(ctx, 100)
	must("evidence due", err)
	if len(due) > 0 {
		d := due[0]
		must("save bundle", l.SaveBundle(ctx, store.Bundle{Tenant: d.Tenant, ContractID: d.ID, Version: d.LastVersion + 1,
			State: d.Status, ContractLeaf: d.ContractLeaf, SHA256: strings.Repeat("0", 64), Path: "evidence/x.zip"}))
	}
	// The overview and the qyshook_certifications gauges, every scrape.
	_, err = l.CertificationCounts(ctx)
	must("certification counts", err)
}

func explain(ctx context.Context, dbs *ledgerDBs, st recorded) ([]string, error) {
	prefix := "EXPLAIN "
	if dbs.kind == testdb.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := dbs.raw.QueryContext(ctx, prefix+st.SQL, st.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		if dbs.kind == testdb.SQLite {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return nil, err
			}
			out = append(out, detail)
			continue
		}
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		out = append(out, line)
	}
	return out, rows.Err()
}

var (
	sqliteScan = regexp.MustCompile(`^SCAN (\w+)(?: AS \w+)?(.*)$`)
	pgSeqScan  = regexp.MustCompile(`Seq Scan on (\w+)`)
	tenantOnly = regexp.MustCompile(`^SEARCH (\w+)(?: AS \w+)? USING (?:COVERING )?INDEX \w+ \(tenant=\?\)$`)
)

// badPlan says what is wrong with plan, or "".
func badPlan(kind testdb.Kind, query string, plan []string) string {
	whole := false
	for _, w := range wholeTable {
		if strings.Contains(oneLine(query), w) {
			whole = true
		}
	}
	limited := strings.Contains(query, " LIMIT ")
	for _, line := range plan {
		line = strings.TrimSpace(line)
		if kind == testdb.SQLite {
			if m := tenantOnly.FindStringSubmatch(line); m != nil && bigTables[m[1]] && hasLine(plan, "USE TEMP B-TREE FOR ORDER BY") {
				return "reads every row of a tenant in " + m[1] + " and sorts them"
			}
			m := sqliteScan.FindStringSubmatch(line)
			if m == nil || !bigTables[m[1]] {
				continue
			}
			rest := m[2]
			switch {
			case whole && strings.Contains(rest, "USING COVERING INDEX"):
			case whole:
				return "a count over " + m[1] + " reads the table instead of an index"
			case !strings.Contains(rest, "USING"):
				return "full table scan of " + m[1]
			case !limited:
				return "walks the whole of an index of " + m[1] + " without a LIMIT"
			case hasLine(plan, "USE TEMP B-TREE FOR ORDER BY"):
				return "walks an index of " + m[1] + " and sorts it all"
			}
			continue
		}
		if m := pgSeqScan.FindStringSubmatch(line); m != nil && bigTables[m[1]] && !whole && !isAllowed(query) {
			return "sequential scan of " + m[1]
		}
	}
	return ""
}

func isAllowed(query string) bool {
	for frag := range allowed {
		if strings.Contains(oneLine(query), frag) {
			return true
		}
	}
	return false
}

func hasLine(plan []string, s string) bool {
	for _, l := range plan {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

var spaces = regexp.MustCompile(`\s+`)

func oneLine(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }
