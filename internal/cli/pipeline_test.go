package cli

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/relay"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

const (
	opsOperatorToken = "operator-token-0123456789"
	opsViewerToken   = "viewer-token-0123456789ab"
)

// opsService is the running service of a CLI test, in-process: a
// dispatcher and an archiver with the fake's API credentials applying
// QYS_CALLBACKS into the ledger, and the admin API over both.
type opsService struct {
	reg *prometheus.Registry
	url string // the admin API's base URL
}

func startOpsService(t *testing.T, l store.Ledger, n *natstest.Env, fake *qystest.Server) *opsService {
	t.Helper()
	client, err := fake.Client()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rel, err := relay.New(relay.Options{JS: n.JS, Ledger: l, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dispatcher.New(dispatcher.Options{
		JS: n.JS, Names: n.Names, Ledger: l,
		APIs: map[string]dispatcher.API{"default": client}, MaxDeliver: 2, AckWait: 5 * time.Second,
		Backoff: dispatcher.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}, Registerer: reg,
		Committed: rel.Kick,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := archiver.New(archiver.Options{Ledger: l, Docs: docstore.New(t.TempDir()), Names: n.Names,
		APIs: map[string]archiver.API{"default": client}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := newOpsReconciler(t, n, l, client)
	api, err := admin.New(admin.Options{
		Tokens: []admin.Token{{Secret: opsOperatorToken, Role: admin.RoleOperator}, {Secret: opsViewerToken, Role: admin.RoleViewer}},
		Ledger: l, JS: n.JS, Names: n.Names, Reconcile: rec, ReplayRate: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	stop := app.StartStages(zerolog.Nop(), []app.Stage{{Name: "dispatcher", Run: d.Run},
		{Name: "archiver", Run: a.Run}, {Name: "relay", Run: rel.Run, Last: true}})
	t.Cleanup(func() {
		srv.Close()
		api.Close()
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &opsService{reg: reg, url: srv.URL}
}

// gauge reads a gauge from the dispatcher's registry (-1: not exposed).
func (s *opsService) gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// clientVars is the environment of an operator shell in another
// directory: the admin API's URL and token, and a QYSHOOK_DB and data dir
// of its own that must stay untouched (the CLI never opens a ledger).
func clientVars(t *testing.T, url, token string) (map[string]string, string) {
	t.Helper()
	elsewhere := t.TempDir()
	poison := filepath.Join(elsewhere, "ledger.db")
	return map[string]string{
		"QYSHOOK_ADMIN_URL": url, "QYSHOOK_ADMIN_TOKEN": token,
		"QYSHOOK_DB": "sqlite://" + poison, "QYSHOOK_DATA_DIR": elsewhere, "QYSHOOK_NATS_URL": "nats://127.0.0.1:1",
	}, elsewhere
}

// assertUntouched fails when the CLI left anything in its data dir (a
// ledger, an embedded store).
func assertUntouched(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the CLI created %s in its own data dir", filepath.Join(dir, e.Name()))
	}
}

// opsEventually polls cond until it holds, or fails the test after a
// generous deadline (a hang, not a speed check).
func opsEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// publishOps puts env on QYS_CALLBACKS as the receiver would.
func publishOps(t *testing.T, n *natstest.Env, env events.Envelope) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.JS.Publish(ctx, n.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), mustEncode(t, env)); err != nil {
		t.Fatal(err)
	}
}

// streamMsgs returns how many messages a stream holds.
func streamMsgs(tb testing.TB, n *natstest.Env, stream string) uint64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := n.JS.Stream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs
}

func newFake(t *testing.T) *qystest.Server {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	return fake
}

// TestDLQRetryWithoutCredentials (issue 9): `dlq retry` from a shell
// without 契约锁 API credentials wrote callback-only states and deleted
// the dead letters. Now the CLI has no ledger: it asks the service, whose
// dispatcher confirms the event through the API and resolves the dead
// letter.
func TestDLQRetryWithoutCredentials(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := newFake(t)
	id := fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: lifecycle.Complete,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	env := opsEnvelope(id, "SIGNED", lifecycle.Signing) // the callback claims SIGNING; the API says COMPLETE
	dl := addOpsDeadLetter(t, l, env.ID, mustEncode(t, env))
	svc := startOpsService(t, l, n, fake)

	vars, dir := clientVars(t, svc.url, opsOperatorToken) // no QYSHOOK_QYS_APP_TOKEN / SECRET
	r := mustOpsRun(t, ExitOK, vars, "dlq", "retry", strconv.FormatInt(dl, 10))
	if !strings.Contains(r.stdout, "republished 1") || !strings.Contains(r.stdout, "dispatcher") {
		t.Errorf("retry does not say it republished for the dispatcher:\n%s", r)
	}
	opsEventually(t, "the dispatcher confirms the contract and resolves the dead letter", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Confirmed && c.Status == lifecycle.Complete && len(opsDeadLetterIDs(t, l)) == 0
	})
	evs, err := l.Events(ctx, "default", id)
	if err != nil || len(evs) != 1 || evs[0].Source != events.SourceReplay || evs[0].ID == env.ID {
		t.Errorf("events = %+v, %v; want one replay event with its own id", evs, err)
	}
	assertUntouched(t, dir)
}

// TestReplayFromAnotherDirectory (issue 9): `qyshook replay` run in
// another directory created a fresh ledger there and published facts of
// its own. Now it only talks HTTP: nothing appears in its directory, and
// the running dispatcher applies the replay.
func TestReplayFromAnotherDirectory(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := newFake(t)
	id := fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: lifecycle.Signing,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	publishOps(t, n, opsEnvelope(id, "SIGNED", lifecycle.Signing))
	svc := startOpsService(t, l, n, fake)
	opsEventually(t, "the callback applied", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Status == lifecycle.Signing
	})
	if err := fake.SetStatus(id, lifecycle.Complete); err != nil { // the platform moved on; no callback came
		t.Fatal(err)
	}
	ledgerMsgs := streamMsgs(t, n, n.Names.LedgerStream())

	vars, dir := clientVars(t, svc.url, opsOperatorToken)
	// Without --yes: the dry run's counts, nothing published.
	r := mustOpsRun(t, ExitOK, vars, "replay", "--contract", id)
	if !strings.Contains(r.stdout, "1 events would be republished") || !strings.Contains(r.stdout, "--yes") {
		t.Errorf("replay without --yes:\n%s", r)
	}
	if got := streamMsgs(t, n, n.Names.CallbacksStream()); got != 1 {
		t.Fatalf("replay without --yes published: %d messages", got)
	}
	r = mustOpsRun(t, ExitOK, vars, "replay", "--contract", id, "--yes")
	if !strings.Contains(r.stdout, "done") || !strings.Contains(r.stdout, "republished 1 events") {
		t.Errorf("replay --yes report:\n%s", r)
	}
	opsEventually(t, "the dispatcher applies the replay", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Status == lifecycle.Complete && c.Confirmed
	})
	if got := streamMsgs(t, n, n.Names.CallbacksStream()); got != 2 {
		t.Errorf("stream holds %d messages, want the callback and one replay", got)
	}
	// Facts come from the service's ledger only: one per change it applied.
	if got := streamMsgs(t, n, n.Names.LedgerStream()); got < ledgerMsgs {
		t.Errorf("QYS_LEDGER went from %d to %d", ledgerMsgs, got)
	}
	assertUntouched(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "ledger.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("replay created a ledger in its directory: %v", err)
	}
}

// TestBareReplayReplaysNothing (issue 9): a bare `qyshook replay` re-drove
// the whole stream. Now it prints its usage and sends nothing.
func TestBareReplayReplaysNothing(t *testing.T) {
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	publishOps(t, n, opsEnvelope("3121362688600000003", "SIGNED", lifecycle.Signing))
	svc := startOpsService(t, l, n, newFake(t))
	vars, dir := clientVars(t, svc.url, opsOperatorToken)
	for _, args := range [][]string{{"replay"}, {"replay", "--yes"}, {"replay", "--json", "--yes"}} {
		r := mustOpsRun(t, ExitUsage, vars, args...)
		if !strings.Contains(r.stderr, "Usage: qyshook replay") || !strings.Contains(r.stderr, "-since") {
			t.Errorf("%v does not print its usage:\n%s", args, r)
		}
	}
	if got := streamMsgs(t, n, n.Names.CallbacksStream()); got != 1 {
		t.Errorf("bare replay published: the stream holds %d messages", got)
	}
	entries, err := l.(store.AdminLog).Audit(context.Background(), store.AuditFilter{})
	if err != nil || len(entries) != 0 {
		t.Errorf("a bare replay reached the API: %+v %v", entries, err)
	}
	assertUntouched(t, dir)
}

// TestDLQDepthClearsWhenResolved (issue 9): qyshook_dlq_depth stayed above
// zero after every dead letter was resolved. Through the API, a purge and
// a retry that applies both bring it back to zero.
func TestDLQDepthClearsWhenResolved(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := newFake(t)
	svc := startOpsService(t, l, n, fake)
	// Two contracts the API does not know yet: permanent failures.
	lost := opsEnvelope("3121362688600000004", "SIGNED", lifecycle.Signing)
	publishOps(t, n, lost)
	publishOps(t, n, opsEnvelope("3121362688600000005", "SIGNED", lifecycle.Signing))
	opsEventually(t, "two dead letters", func() bool {
		return len(opsDeadLetterIDs(t, l)) == 2 && svc.gauge(t, "qyshook_dlq_depth") == 2
	})
	rows, err := l.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	vars, _ := clientVars(t, svc.url, opsOperatorToken)
	r := mustOpsRun(t, ExitUsage, vars, "dlq", "purge", strconv.FormatInt(rows[1].ID, 10))
	if !strings.Contains(r.stderr, "--reason is required") {
		t.Errorf("purge without a reason:\n%s", r)
	}
	mustOpsRun(t, ExitOK, vars, "dlq", "purge", strconv.FormatInt(rows[1].ID, 10), "--reason", "test contract")
	opsEventually(t, "depth 1 after a purge", func() bool { return svc.gauge(t, "qyshook_dlq_depth") == 1 })

	// The platform now knows the first contract: a retry resolves it.
	fake.AddContract(qystest.ContractSpec{ID: lost.ContractID, Subject: "采购合同", Status: lifecycle.Signing,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	mustOpsRun(t, ExitOK, vars, "dlq", "retry", "--all")
	opsEventually(t, "depth 0 after the retry applied", func() bool {
		return svc.gauge(t, "qyshook_dlq_depth") == 0 && len(opsDeadLetterIDs(t, l)) == 0
	})
	if c, err := l.Contract(ctx, "default", lost.ContractID); err != nil || !c.Confirmed {
		t.Errorf("retried contract = %+v, %v", c, err)
	}
	entries, err := l.(store.AdminLog).Audit(ctx, store.AuditFilter{})
	if err != nil || len(entries) != 2 || entries[0].Action != "POST /dead-letters/retry" ||
		entries[1].Action != "POST /dead-letters/{id}/purge" || !strings.Contains(string(entries[1].Selector), "test contract") {
		t.Errorf("audit = %+v, %v", entries, err)
	}
}

// TestReadCommandsThroughTheAPI: contracts and dlq keep their tables and
// --json; a viewer token reads masked and cannot write.
func TestReadCommandsThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := newFake(t)
	id := fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: lifecycle.Signing,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三丰"}}})
	publishOps(t, n, opsEnvelope(id, "SIGNED", lifecycle.Signing))
	dl := addOpsDeadLetter(t, l, "ev-x", mustEncode(t, opsEnvelope("3121362688600000009", "SIGNED", lifecycle.Signing)))
	svc := startOpsService(t, l, n, fake)
	opsEventually(t, "the callback applied", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Confirmed
	})
	vars, dir := clientVars(t, svc.url, opsOperatorToken)
	r := mustOpsRun(t, ExitOK, vars, "contracts", "list")
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "采购合同") || !strings.Contains(r.stdout, "SIGNING") {
		t.Errorf("contracts list:\n%s", r)
	}
	var rows []adminapi.Contract
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "contracts", "list", "--json", "--status", "SIGNING"), &rows)
	if len(rows) != 1 || rows[0].ID != id || !rows[0].Confirmed {
		t.Errorf("contracts list --json = %+v", rows)
	}
	r = mustOpsRun(t, ExitOK, vars, "contracts", "show", id)
	if !strings.Contains(r.stdout, "张三丰") || !strings.Contains(r.stdout, "Events (1)") {
		t.Errorf("contracts show (operator):\n%s", r)
	}
	// A document's revocation data and cross-check (docs/evidence.md).
	now := time.Now().UTC()
	if _, err := l.ArchiveDocument(ctx, "default", store.Document{ID: id + "-d9", ContractID: id, Title: "正文",
		SHA256: strings.Repeat("ab", 32), Size: 1, Path: "documents/x.pdf", FetchedAt: &now, VerifyVerdict: "valid",
		VerifySignatures: 1, VerifiedAt: &now, ValidationSHA256: strings.Repeat("cd", 32), ValidationPath: "documents/v.json",
		ValidationStatus: "revoked", Discrepancies: `[{"kind":"unknown_signer","party":"Mallory Ltd","detail":"not a signatory"}]`}, nil); err != nil {
		t.Fatal(err)
	}
	r = mustOpsRun(t, ExitOK, vars, "contracts", "show", id)
	if !strings.Contains(r.stdout, "revocation revoked") || !strings.Contains(r.stdout, "DISCREPANCY unknown_signer Mallory Ltd") {
		t.Errorf("contracts show lacks the revocation data or the discrepancy:\n%s", r)
	}
	assertOneLine(t, mustOpsRun(t, ExitNotFound, vars, "contracts", "show", "nope"), "qyshook contracts: no contract nope")
	var dls []adminapi.DeadLetter
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "dlq", "list", "--json"), &dls)
	if len(dls) != 1 || dls[0].ID != dl {
		t.Errorf("dlq list --json = %+v", dls)
	}
	r = mustOpsRun(t, ExitOK, vars, "dlq", "show", strconv.FormatInt(dl, 10))
	if !strings.Contains(r.stdout, "3121362688600000009") {
		t.Errorf("dlq show:\n%s", r)
	}
	mustOpsRun(t, ExitNotFound, vars, "dlq", "show", "999")

	viewer, _ := clientVars(t, svc.url, opsViewerToken)
	r = mustOpsRun(t, ExitOK, viewer, "contracts", "show", id)
	if strings.Contains(r.stdout, "张三丰") {
		t.Errorf("a viewer read an unmasked name:\n%s", r)
	}
	r = mustOpsRun(t, ExitUsage, viewer, "dlq", "retry", strconv.FormatInt(dl, 10))
	assertOneLine(t, r, "operator")
	if got := len(opsDeadLetterIDs(t, l)); got != 1 || streamMsgs(t, n, n.Names.CallbacksStream()) != 1 {
		t.Errorf("a viewer's retry changed something")
	}
	assertUntouched(t, dir)
}

// TestReconcileThroughTheAPI: reconcile runs one pass in the service and
// prints what it did; the pass is listed in reconcile runs.
func TestReconcileThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := newFake(t)
	id := fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: lifecycle.Complete,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	svc := startOpsService(t, l, n, fake)
	vars, dir := clientVars(t, svc.url, opsOperatorToken)
	var run adminapi.ReconcileRun
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "reconcile", "--json"), &run)
	if run.State != "done" || run.Triggered != 1 || run.FinishedAt == nil {
		t.Errorf("reconcile = %+v", run)
	}
	opsEventually(t, "the dispatcher applies the RECONCILE trigger", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Status == lifecycle.Complete
	})
	r := mustOpsRun(t, ExitOK, vars, "reconcile", "--since", "1h")
	if !strings.Contains(r.stdout, "checked") {
		t.Errorf("reconcile:\n%s", r)
	}
	runs, err := l.(store.AdminLog).ReconcileRuns(ctx, 0)
	if err != nil || len(runs) != 2 {
		t.Errorf("reconcile runs = %+v, %v", runs, err)
	}
	assertUntouched(t, dir)
}

// TestAdminUnreachable: without a running service the operator commands
// fail with one line and exit 3, and create nothing.
func TestAdminUnreachable(t *testing.T) {
	vars, dir := clientVars(t, "http://127.0.0.1:1", opsOperatorToken)
	vars = withOpsFake(vars, newFake(t)) // 契约锁 credentials in the shell change nothing: the CLI never applies
	for _, args := range [][]string{{"contracts", "list"}, {"certifications", "list"}, {"certifications", "show", "r-1"},
		{"dlq", "list"}, {"dlq", "retry", "--all"},
		{"replay", "--tenant", "default", "--yes"}, {"reconcile"}} {
		r := mustOpsRun(t, ExitUnavailable, vars, args...)
		assertOneLine(t, r, "admin API at http://127.0.0.1:1 unreachable", opsOperatorToken)
	}
	delete(vars, "QYSHOOK_ADMIN_TOKEN")
	assertOneLine(t, mustOpsRun(t, ExitUsage, vars, "dlq", "list"), "QYSHOOK_ADMIN_TOKEN")
	assertUntouched(t, dir)
}
