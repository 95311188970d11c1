package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// writeFixture is an API with the write side: a real SQLite ledger, a
// JetStream and, when given, a reconcile function.
func newWriteFixture(tb testing.TB, reconcile ReconcileFunc) (*fixture, *API) {
	tb.Helper()
	f := &fixture{ledger: testdb.Open(tb, testdb.SQLite), nats: natstest.New(tb)}
	a, err := New(Options{
		Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, JS: f.nats.JS, Names: f.nats.Names, Reconcile: reconcile, ReplayRate: -1, Activity: testActivity(),
		RequestCheckpoint: checkpointRequester(tb, f.ledger.(store.CheckpointLog)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.srv = httptest.NewServer(a)
	tb.Cleanup(f.srv.Close)
	tb.Cleanup(a.Close)
	return f, a
}

// post sends body (JSON-encoded unless a string) and decodes the answer.
func (f *fixture) post(tb testing.TB, token, path string, body, out any) int {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+adminapi.Prefix+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("POST %s: %d %s: %v", path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func (f *fixture) auditEntries(tb testing.TB) []store.AuditEntry {
	tb.Helper()
	rows, err := f.ledger.(store.AdminLog).Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

func testEnvelope(tenant, contractID, typ string) events.Envelope {
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: tenant, Kind: events.KindContract, Type: typ,
		ContractID: contractID, ContractStatus: "SIGNING", ReceivedAt: time.Now().UTC(), Format: "A",
		Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + contractID + `"}`),
	}
	env.ID = events.EventID(tenant, events.KindContract, contractID, typ, "SIGNING", "")
	return env
}

func (f *fixture) publish(tb testing.TB, env events.Envelope) {
	tb.Helper()
	b, err := env.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.nats.JS.Publish(context.Background(), f.nats.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), b); err != nil {
		tb.Fatal(err)
	}
}

func (f *fixture) streamMsgs(tb testing.TB, stream string) uint64 {
	tb.Helper()
	st, err := f.nats.JS.Stream(context.Background(), stream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs
}

// addDeadLetter stores a dead letter of env and its QYS_DLQ message, as
// the dispatcher writes them.
func (f *fixture) addDeadLetter(tb testing.TB, env events.Envelope, seq uint64) int64 {
	tb.Helper()
	ctx := context.Background()
	b, _ := env.Encode()
	id, err := f.ledger.AddDeadLetter(ctx, store.DeadLetter{EventID: env.ID, Tenant: env.Tenant, Consumer: events.DurableLedger,
		Subject: f.nats.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), StreamSeq: seq, Reason: "permanent: test",
		Deliveries: 1, Payload: b, CreatedAt: time.Now().UTC()})
	if err != nil {
		tb.Fatal(err)
	}
	m := nats.NewMsg(f.nats.Names.DLQSubject(events.DurableLedger))
	m.Data = b
	m.Header.Set(events.HeaderDLQStreamSeq, strconv.FormatUint(seq, 10))
	if _, err := f.nats.JS.PublishMsg(ctx, m); err != nil {
		tb.Fatal(err)
	}
	return id
}

// TestWritesNeedOperator: every write answers 401 without a token and
// 403 to a viewer, changes nothing and writes no audit row.
func TestWritesNeedOperator(t *testing.T) {
	f, _ := newWriteFixture(t, func(context.Context, time.Time) (ReconcileResult, error) {
		t.Error("a viewer started a reconcile pass")
		return ReconcileResult{}, nil
	})
	id := f.addDeadLetter(t, testEnvelope("default", "c1", "SIGNED"), 7)
	for _, w := range []struct{ path, body string }{
		{"/dead-letters/retry", `{"all":true}`},
		{"/dead-letters/" + strconv.FormatInt(id, 10) + "/retry", ``},
		{"/dead-letters/" + strconv.FormatInt(id, 10) + "/purge", `{"reason":"test"}`},
		{"/replays", `{"selector":{"from_seq":1},"dry_run":true}`},
		{"/reconcile", ``},
	} {
		var e errorBody
		if st := f.post(t, viewerToken, w.path, w.body, &e); st != http.StatusForbidden || e.Error == nil || e.Error.Code != adminapi.CodeForbidden {
			t.Errorf("viewer POST %s = %d %+v, want 403", w.path, st, e.Error)
		}
		if st := f.post(t, "", w.path, w.body, nil); st != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s = %d, want 401", w.path, st)
		}
	}
	if got := opsDeadLetters(t, f); got != 1 || f.streamMsgs(t, f.nats.Names.CallbacksStream()) != 0 ||
		f.streamMsgs(t, f.nats.Names.DLQStream()) != 1 {
		t.Errorf("refused writes changed something: %d dead letters", got)
	}
	if rows := f.auditEntries(t); len(rows) != 0 {
		t.Errorf("refused writes were audited as done: %+v", rows)
	}
}

func opsDeadLetters(t *testing.T, f *fixture) int {
	t.Helper()
	rows, err := f.ledger.DeadLetters(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// TestDeadLetterWrites: retry republishes (and deletes nothing itself);
// purge needs a reason and removes the row and its QYS_DLQ message (the
// dead-letter depth); each write leaves an audit row with who, what, the
// selector and the count.
func TestDeadLetterWrites(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	a := f.addDeadLetter(t, testEnvelope("default", "c1", "SIGNED"), 7)
	b := f.addDeadLetter(t, testEnvelope("acme", "c2", "SIGNED"), 8)

	var rv adminapi.RetryResult
	if st := f.post(t, operatorToken, "/dead-letters/"+strconv.FormatInt(a, 10)+"/retry", nil, &rv); st != http.StatusOK ||
		rv.Republished != 1 || len(rv.Items) != 1 || rv.Items[0].ID != a {
		t.Fatalf("retry = %d %+v", st, rv)
	}
	msgs, err := natstest.StreamMessages(context.Background(), f.nats.JS, f.nats.Names.CallbacksStream())
	if err != nil || len(msgs) != 1 || msgs[0].Header.Get(events.HeaderDeadLetterID) != strconv.FormatInt(a, 10) {
		t.Fatalf("republished: %+v, %v", msgs, err)
	}
	if n := opsDeadLetters(t, f); n != 2 {
		t.Errorf("the retry deleted a dead letter itself (%d left): the dispatcher resolves it once applied", n)
	}
	f.wantErrorPost(t, "/dead-letters/retry", `{}`, http.StatusBadRequest, adminapi.CodeBadRequest)
	f.wantErrorPost(t, "/dead-letters/retry", ``, http.StatusBadRequest, adminapi.CodeBadRequest)
	f.wantErrorPost(t, "/dead-letters/retry", `{"all":true,"tenantt":"x"}`, http.StatusBadRequest, adminapi.CodeBadRequest)
	if st := f.post(t, operatorToken, "/dead-letters/retry", map[string]any{"tenant": "acme"}, &rv); st != http.StatusOK ||
		rv.Republished != 1 || rv.Items[0].ID != b {
		t.Fatalf("retry tenant acme = %d %+v", st, rv)
	}

	path := "/dead-letters/" + strconv.FormatInt(b, 10) + "/purge"
	f.wantErrorPost(t, path, `{}`, http.StatusBadRequest, adminapi.CodeBadRequest)
	f.wantErrorPost(t, path, `{"reason":"   "}`, http.StatusBadRequest, adminapi.CodeBadRequest)
	var purged map[string]int
	if st := f.post(t, operatorToken, path, map[string]string{"reason": "test contract, never real"}, &purged); st != http.StatusOK ||
		purged["purged"] != 1 {
		t.Fatalf("purge = %d %v", st, purged)
	}
	if n := opsDeadLetters(t, f); n != 1 {
		t.Errorf("%d dead letters after the purge, want 1", n)
	}
	if got := f.streamMsgs(t, f.nats.Names.DLQStream()); got != 1 {
		t.Errorf("QYS_DLQ holds %d messages after the purge, want 1 (the purged one's is deleted)", got)
	}
	f.wantErrorPost(t, path, `{"reason":"again"}`, http.StatusNotFound, adminapi.CodeNotFound)

	rows := f.auditEntries(t) // newest first
	if len(rows) != 4 {
		t.Fatalf("audit has %d rows, want 4: %+v", len(rows), rows)
	}
	last, purge, bulk, one := rows[0], rows[1], rows[2], rows[3]
	if !strings.HasPrefix(one.Who, "operator:") || one.Action != "POST /dead-letters/{id}/retry" || one.Count != 1 ||
		one.Outcome != "ok" || string(one.Selector) != `{"id":`+strconv.FormatInt(a, 10)+`}` || one.JobID == "" {
		t.Errorf("retry audit = %+v (%s)", one, one.Selector)
	}
	if bulk.Action != "POST /dead-letters/retry" || bulk.Count != 1 || !strings.Contains(string(bulk.Selector), `"tenant":"acme"`) {
		t.Errorf("bulk retry audit = %+v (%s)", bulk, bulk.Selector)
	}
	if purge.Action != "POST /dead-letters/{id}/purge" || purge.Count != 1 || purge.Outcome != "ok" ||
		!strings.Contains(string(purge.Selector), "never real") {
		t.Errorf("purge audit = %+v (%s)", purge, purge.Selector)
	}
	if last.Count != 0 || !strings.HasPrefix(last.Outcome, "not_found") {
		t.Errorf("failed purge audit = %+v", last)
	}
	// The viewer reads the audit trail too.
	var page adminapi.Page[adminapi.AuditEntry]
	if st := f.get(t, viewerToken, "/audit?limit=2", &page); st != http.StatusOK || len(page.Items) != 2 || page.Items[0].ID != last.ID {
		t.Errorf("GET /audit = %d %+v", st, page)
	}
}

func (f *fixture) wantErrorPost(tb testing.TB, path, body string, status int, code string) {
	tb.Helper()
	var e errorBody
	if st := f.post(tb, operatorToken, path, body, &e); st != status || e.Error == nil || e.Error.Code != code || e.Error.Message == "" {
		tb.Errorf("POST %s %s = %d %+v, want %d %s", path, body, st, e.Error, status, code)
	}
}

// TestReplayDryRunThenConfirm: no replay without a dry run of the same
// selector; a bare selector is refused; the run is a background job
// whose progress ends in done with a report; a token starts one run.
func TestReplayDryRunThenConfirm(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	for _, env := range []events.Envelope{testEnvelope("default", "c1", "SIGNED"), testEnvelope("default", "c2", "SIGNED"),
		testEnvelope("acme", "c3", "SEND")} {
		f.publish(t, env)
	}
	for _, body := range []string{`{}`, `{"selector":{}}`, `{"selector":{},"dry_run":true}`, `{"selector":{"tenant":""},"dry_run":true}`,
		`{"selector":{"from":"yesterday"},"dry_run":true}`, `{"selector":{"tenant":"default"}}`,
		`{"selector":{"tenant":"default"},"confirm":"forged.token"}`, `{"selector":{"tenant":"default"},"dry_run":true,"confirm":"x"}`,
		`{"selector":{"tenant":"default","limit":1},"dry_run":true}`} {
		f.wantErrorPost(t, "/replays", body, http.StatusBadRequest, adminapi.CodeBadRequest)
	}
	if got := f.streamMsgs(t, f.nats.Names.CallbacksStream()); got != 3 {
		t.Fatalf("refused replays published: %d messages", got)
	}
	var dry adminapi.DryRun
	sel := map[string]any{"tenant": "default"}
	if st := f.post(t, operatorToken, "/replays", map[string]any{"selector": sel, "dry_run": true}, &dry); st != http.StatusOK ||
		dry.Selected != 2 || dry.ByTenant["default"] != 2 || dry.ByType["SIGNED"] != 2 || dry.Confirm == "" {
		t.Fatalf("dry run = %d %+v", st, dry)
	}
	if got := f.streamMsgs(t, f.nats.Names.CallbacksStream()); got != 3 {
		t.Fatalf("the dry run published: %d messages", got)
	}
	// The token is bound to its selector.
	f.wantErrorPost(t, "/replays", `{"selector":{"tenant":"acme"},"confirm":"`+dry.Confirm+`"}`, http.StatusBadRequest, adminapi.CodeBadRequest)
	var job adminapi.Job
	if st := f.post(t, operatorToken, "/replays", map[string]any{"selector": sel, "confirm": dry.Confirm}, &job); st != http.StatusAccepted ||
		job.State != adminapi.JobRunning || !strings.HasPrefix(job.ID, "replay-") {
		t.Fatalf("confirmed run = %d %+v", st, job)
	}
	deadline := time.Now().Add(60 * time.Second)
	for job.State == adminapi.JobRunning && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if st := f.get(t, viewerToken, "/replays/"+job.ID, &job); st != http.StatusOK {
			t.Fatalf("GET job = %d", st)
		}
	}
	if job.State != adminapi.JobDone || job.Republished != 2 || job.Selected != 2 || job.FinishedAt == nil ||
		job.Progress.Done != job.Progress.Total || job.Report == nil {
		t.Fatalf("job = %+v", job)
	}
	if got := f.streamMsgs(t, f.nats.Names.CallbacksStream()); got != 5 {
		t.Errorf("stream holds %d messages, want 3 + 2 replays", got)
	}
	var e errorBody
	if st := f.post(t, operatorToken, "/replays", map[string]any{"selector": sel, "confirm": dry.Confirm}, &e); st != http.StatusConflict {
		t.Errorf("a spent token ran again: %d %+v", st, e.Error)
	}
	var list adminapi.Page[adminapi.Job]
	if st := f.get(t, viewerToken, "/replays", &list); st != http.StatusOK || len(list.Items) != 1 || list.Items[0].ID != job.ID {
		t.Errorf("GET /replays = %d %+v", st, list)
	}
	f.wantError(t, http.MethodGet, viewerToken, "/replays/replay-nope", http.StatusNotFound, adminapi.CodeNotFound)

	var started, ended *store.AuditEntry
	for _, r := range f.auditEntries(t) {
		switch {
		case r.Action == "POST /replays" && r.Outcome == "accepted":
			started = &r
		case r.Action == "JOB replay":
			ended = &r
		}
	}
	if started == nil || started.Count != 2 || started.JobID != job.ID || string(started.Selector) != `{"tenant":"default"}` {
		t.Errorf("start audit = %+v", started)
	}
	if ended == nil || ended.Count != 2 || ended.Outcome != "done" || ended.JobID != job.ID {
		t.Errorf("end audit = %+v", ended)
	}
}

// TestReconcileJob: POST /reconcile runs one pass in the background,
// records it in reconcile_runs (running, then done with its figures),
// refuses a second pass while one runs, and audits it.
func TestReconcileJob(t *testing.T) {
	gate, entered := make(chan struct{}), make(chan struct{})
	f, _ := newWriteFixture(t, func(ctx context.Context, since time.Time) (ReconcileResult, error) {
		close(entered)
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return ReconcileResult{Checked: 3, Triggered: 1, Requeued: 2}, nil
	})
	var job adminapi.Job
	if st := f.post(t, operatorToken, "/reconcile", nil, &job); st != http.StatusAccepted || job.State != adminapi.JobRunning {
		t.Fatalf("POST /reconcile = %d %+v", st, job)
	}
	<-entered
	var runs adminapi.Page[adminapi.ReconcileRun]
	if st := f.get(t, viewerToken, "/reconcile-runs", &runs); st != http.StatusOK || len(runs.Items) != 1 ||
		runs.Items[0].ID != job.ID || runs.Items[0].State != adminapi.JobRunning {
		t.Fatalf("runs while running = %d %+v", st, runs)
	}
	f.wantErrorPost(t, "/reconcile", ``, http.StatusConflict, adminapi.CodeConflict)
	close(gate)
	deadline := time.Now().Add(60 * time.Second)
	for runs.Items[0].State == adminapi.JobRunning && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		f.get(t, viewerToken, "/reconcile-runs", &runs)
	}
	r := runs.Items[0]
	if r.State != adminapi.JobDone || r.Checked != 3 || r.Triggered != 1 || r.Requeued != 2 || r.FinishedAt == nil || r.Since == nil {
		t.Fatalf("run = %+v", r)
	}
	var ov adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &ov); st != http.StatusOK || ov.LastReconcile == nil || ov.LastReconcile.ID != job.ID {
		t.Errorf("overview last_reconcile = %d %+v", st, ov.LastReconcile)
	}
	var accepted bool
	for _, e := range f.auditEntries(t) {
		accepted = accepted || (e.Action == "POST /reconcile" && e.Outcome == "accepted" && e.JobID == job.ID)
	}
	if !accepted {
		t.Errorf("no audit row for the reconcile pass: %+v", f.auditEntries(t))
	}
}

// finishedRunHold stores reconcile runs in the ledger and, once the
// first finished run is stored, holds that save until released: the job's
// goroutine delayed right after the record says done, as a loaded machine
// may delay it.
type finishedRunHold struct {
	store.AdminLog
	once    sync.Once
	stored  chan struct{} // closed once the first finished run is stored
	release chan struct{}
}

func (h *finishedRunHold) SaveReconcileRun(ctx context.Context, r store.ReconcileRun) error {
	err := h.AdminLog.SaveReconcileRun(ctx, r)
	if r.FinishedAt != nil {
		h.once.Do(func() { close(h.stored); <-h.release })
	}
	return err
}

// TestReconcileAgainOnceRecordedDone: once GET /reconcile-runs shows a
// pass finished, the next POST /reconcile is accepted. The finished run
// was recorded while the job still counted as running in memory, so
// `qyshook reconcile` run twice in a row (it returns when the record says
// done) got 409 "a reconcile pass is running" whenever the job's
// goroutine had not yet got past the record (internal/cli
// TestReconcileThroughTheAPI failed so under load).
func TestReconcileAgainOnceRecordedDone(t *testing.T) {
	f := &fixture{ledger: testdb.Open(t, testdb.SQLite), nats: natstest.New(t)}
	hold := &finishedRunHold{AdminLog: f.ledger.(store.AdminLog), stored: make(chan struct{}), release: make(chan struct{})}
	a, err := New(Options{
		Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, Log: hold, JS: f.nats.JS, Names: f.nats.Names, ReplayRate: -1,
		Reconcile: func(context.Context, time.Time) (ReconcileResult, error) { return ReconcileResult{Checked: 1}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	t.Cleanup(a.Close)
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(hold.release) }) })

	var first adminapi.Job
	if st := f.post(t, operatorToken, "/reconcile", nil, &first); st != http.StatusAccepted {
		t.Fatalf("first POST /reconcile = %d %+v", st, first)
	}
	<-hold.stored
	var runs adminapi.Page[adminapi.ReconcileRun]
	if st := f.get(t, viewerToken, "/reconcile-runs", &runs); st != http.StatusOK || len(runs.Items) != 1 ||
		runs.Items[0].ID != first.ID || runs.Items[0].State != adminapi.JobDone {
		t.Fatalf("runs once the first is recorded = %d %+v", st, runs)
	}
	var second json.RawMessage
	if st := f.post(t, operatorToken, "/reconcile", nil, &second); st != http.StatusAccepted {
		t.Fatalf("POST /reconcile after the first pass was recorded done = %d %s", st, second)
	}
	released.Do(func() { close(hold.release) })
}

// TestReconcileUnavailable: without API credentials there is no pass to run.
func TestReconcileUnavailable(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	f.wantErrorPost(t, "/reconcile", ``, http.StatusServiceUnavailable, adminapi.CodeUnavailable)
}

// TestOverviewAndDocuments: the archive queue and the overview's figures.
func TestOverviewAndDocuments(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	ctx := context.Background()
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	ch := store.ContractChange{
		Event: store.Event{ID: "ev-c2", Tenant: "acme", Kind: "contract", Type: "COMPLETE", ContractID: "c2", Source: "callback",
			ReceivedAt: base},
		Contract: store.Contract{Tenant: "acme", ID: "c2", Subject: "s", Status: "COMPLETE", Confirmed: true, UpdatedAt: base,
			Documents: []store.Document{{ID: "d1", ContractID: "c2", Title: "合同正文"}, {ID: "d2", ContractID: "c2", Title: "附件"}}},
		ArchiveDocuments: true,
	}
	if _, err := f.ledger.ApplyContract(ctx, ch); err != nil {
		t.Fatal(err)
	}
	f.addDeadLetter(t, testEnvelope("default", "c9", "SIGNED"), 5)
	f.publish(t, testEnvelope("default", "c1", "SIGNED"))

	var docs adminapi.Page[adminapi.QueuedDocument]
	if st := f.get(t, viewerToken, "/documents?state=pending&limit=1", &docs); st != http.StatusOK || len(docs.Items) != 1 ||
		docs.Items[0].ID != "d1" || docs.Items[0].State != "pending" || docs.NextCursor == "" {
		t.Fatalf("documents page 1 = %d %+v", st, docs)
	}
	next := docs.NextCursor
	docs.NextCursor = ""
	if st := f.get(t, viewerToken, "/documents?state=pending&limit=1&cursor="+next, &docs); st != http.StatusOK ||
		len(docs.Items) != 1 || docs.Items[0].ID != "d2" || docs.NextCursor != "" {
		t.Fatalf("documents page 2 = %d %+v", st, docs)
	}
	f.wantError(t, http.MethodGet, viewerToken, "/documents?state=lost", http.StatusBadRequest, adminapi.CodeBadRequest)
	if st := f.get(t, viewerToken, "/documents?contract_id=c1", &docs); st != http.StatusOK || len(docs.Items) != 0 {
		t.Errorf("c1 (signing) documents are not queued: %+v", docs)
	}

	var ov adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &ov); st != http.StatusOK {
		t.Fatalf("overview = %d", st)
	}
	if len(ov.Tenants) != 2 || ov.Tenants[0].Tenant != "acme" || ov.Tenants[0].ContractsByStatus["COMPLETE"] != 1 ||
		ov.Tenants[1].ContractsByStatus["SIGNING"] != 1 || ov.Documents.Pending != 2 || ov.DeadLetters != 1 ||
		ov.DLQDepth == nil || *ov.DLQDepth != 1 || ov.CallbacksPerMin == nil || *ov.CallbacksPerMin != 1 {
		t.Errorf("overview = %+v", ov)
	}
}
