package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// The operator contract: every route's real answer decodes into the
// types of package adminapi with unknown fields refused (this file), and
// docs/admin-openapi.json describes those types field by field
// (openapi_test.go).

// strictDecode decodes raw into out, refusing a field out's type lacks and
// trailing data.
func strictDecode(raw []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// send calls method path (below the prefix) with token and body (JSON
// unless a string) and returns the status and the answer's bytes.
func (f *fixture) send(tb testing.TB, method, token, path string, body any) (int, []byte) {
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
	req, err := http.NewRequest(method, f.srv.URL+adminapi.Prefix+path, rd)
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
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, raw
}

// routeCall is one request of TestEveryRouteAnswersTheContract and the
// adminapi type its answer must decode into.
type routeCall struct {
	method, pattern string // the route, as in the table
	path            string // the request
	token           string
	body            any
	status          int
	out             any // a pointer to an adminapi value
}

// seedContract fills a ledger and the streams so every route answers
// with every kind of item: contracts with signatories, documents and
// events; certifications; the archive queue; dead letters; callbacks and
// facts on the streams.
func seedContract(t *testing.T, f *fixture) (deadLetters []int64) {
	t.Helper()
	ctx := context.Background()
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	ch := store.ContractChange{
		Event: store.Event{ID: "ev-c2", Tenant: "acme", Kind: "contract", Type: "COMPLETE", ContractID: "c2", Source: "callback",
			ReceivedAt: base, Payload: json.RawMessage(`{}`)},
		Contract: store.Contract{Tenant: "acme", ID: "c2", Subject: "s", Status: "COMPLETE", Confirmed: true, UpdatedAt: base,
			Documents: []store.Document{{ID: "d1", ContractID: "c2", Title: "合同正文"}}},
		ArchiveDocuments: true,
	}
	if _, err := f.ledger.ApplyContract(ctx, ch); err != nil {
		t.Fatal(err)
	}
	seedCertifications(t, f.ledger)
	f.publish(t, testEnvelope("default", "c1", "SIGNED"))
	f.publish(t, testEnvelope("acme", "c2", "SIGNED"))
	for i, env := range []events.Envelope{testEnvelope("default", "c7", "SIGNED"), testEnvelope("default", "c8", "SIGNED"),
		testEnvelope("acme", "c9", "SIGNED")} {
		deadLetters = append(deadLetters, f.addDeadLetter(t, env, uint64(10+i)))
	}
	for i, fc := range []events.Fact{
		{ID: "f1", Tenant: "default", Kind: events.FactContractStatus, ContractID: "c1", Seq: 1, Status: "SIGNING",
			Confirmed: true, Source: "callback", CauseEventID: "ev-default-c1-SIGNING", OccurredAt: base},
		{ID: "f2", Tenant: "default", Kind: events.FactDocumentsArchived, ContractID: "c1", Seq: 2, OccurredAt: base,
			Documents: []events.FactDocument{{ID: "c1-d1", Title: "合同正文", SHA256: "ab", Size: 3, Path: "documents/x"}}},
	} {
		b, _ := json.Marshal(fc)
		subj := f.nats.Names.LedgerContractSubject(fc.Tenant, "SIGNING")
		if i == 1 {
			subj = f.nats.Names.LedgerDocumentsSubject(fc.Tenant)
		}
		if _, err := f.nats.JS.Publish(ctx, subj, b); err != nil {
			t.Fatal(err)
		}
	}
	return deadLetters
}

// TestEveryRouteAnswersTheContract: a real answer of every route of the
// table (the admin API over a real SQLite ledger and JetStream), and of
// each error status, decodes into its adminapi type with unknown fields
// refused, so a field an answer has and the type lacks fails here. A
// listing must hold items, so their fields are decoded too.
func TestEveryRouteAnswersTheContract(t *testing.T) {
	f, a := newWriteFixture(t, func(context.Context, time.Time) (ReconcileResult, error) {
		return ReconcileResult{Checked: 2, Triggered: 1, CertificationsChecked: 1, CertificationsUnconfirmed: 1,
			UnconfirmedCertifications: []string{"forged"}}, nil
	})
	dls := seedContract(t, f)
	op, vw := operatorToken, viewerToken

	// The writes first, so the reads after them have jobs, runs and
	// audit rows to show.
	var dry adminapi.DryRun
	sel := adminapi.ReplaySelector{Tenant: "default"}
	var job adminapi.Job
	var reconcileJob adminapi.Job
	writes := []routeCall{
		{"POST", "/replays", "/replays", op, adminapi.ReplayRequest{Selector: &sel, DryRun: true}, http.StatusOK, &dry},
		{"POST", "/reconcile", "/reconcile", op, adminapi.ReconcileRequest{Since: time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)}, http.StatusAccepted, &reconcileJob},
		{"POST", "/dead-letters/{id}/retry", fmt.Sprintf("/dead-letters/%d/retry", dls[0]), op, nil, http.StatusOK, new(adminapi.RetryResult)},
		{"POST", "/dead-letters/retry", "/dead-letters/retry", op, adminapi.RetryRequest{Tenant: "acme"}, http.StatusOK, new(adminapi.RetryResult)},
		{"POST", "/dead-letters/{id}/purge", fmt.Sprintf("/dead-letters/%d/purge", dls[1]), op, adminapi.PurgeRequest{Reason: "test"},
			http.StatusOK, new(adminapi.PurgeResult)},
		{"POST", "/log/checkpoints", "/log/checkpoints", op, nil, http.StatusCreated, new(adminapi.CheckpointRequested)},
		{"POST", "/log/checkpoints", "/log/checkpoints", op, nil, http.StatusOK, new(adminapi.CheckpointRequested)},
	}
	called := map[string]bool{}
	run := func(c routeCall) {
		t.Helper()
		called[c.method+" "+c.pattern] = true
		st, raw := f.send(t, c.method, c.token, c.path, c.body)
		if st != c.status {
			t.Fatalf("%s %s = %d %s, want %d", c.method, c.path, st, raw, c.status)
		}
		if err := strictDecode(raw, c.out); err != nil {
			t.Errorf("%s %s: the answer does not decode into %T: %v\n%s", c.method, c.path, c.out, err, raw)
		}
		if v := reflect.ValueOf(c.out).Elem(); v.Kind() == reflect.Struct && v.FieldByName("Items").IsValid() &&
			v.FieldByName("Items").Len() == 0 {
			t.Errorf("%s %s: no items to check the item type against", c.method, c.path)
		}
	}
	for _, c := range writes {
		run(c)
	}
	endpointRoutes(t, f, run)
	run(routeCall{"POST", "/replays", "/replays", op, adminapi.ReplayRequest{Selector: &sel, Confirm: dry.Confirm}, http.StatusAccepted, &job})
	deadline := time.Now().Add(60 * time.Second)
	for job.State == adminapi.JobRunning && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		run(routeCall{"GET", "/replays/{id}", "/replays/" + job.ID, vw, nil, http.StatusOK, &job})
	}
	if rep, err := job.ReplayReport(); err != nil || rep == nil || rep.Selected == 0 {
		t.Errorf("replay report = %+v, %v", rep, err)
	} else if err := strictDecode(job.Report, new(adminapi.ReplayReport)); err != nil {
		t.Errorf("the replay job's report does not decode into ReplayReport: %v\n%s", err, job.Report)
	}
	var runs adminapi.Page[adminapi.ReconcileRun]
	for time.Now().Before(deadline) {
		run(routeCall{"GET", "/reconcile-runs", "/reconcile-runs", vw, nil, http.StatusOK, &runs})
		if runs.Items[0].State != adminapi.JobRunning {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	var overview adminapi.Overview
	for _, c := range []routeCall{
		{"GET", "/contracts", "/contracts?total=true", op, nil, http.StatusOK, new(adminapi.ContractPage)},
		{"GET", "/contracts/{tenant}/{id}", "/contracts/default/c1", op, nil, http.StatusOK, new(adminapi.ContractDetail)},
		{"GET", "/contracts/{tenant}/{id}/facts", "/contracts/default/c1/facts", op, nil, http.StatusOK, new(adminapi.Page[adminapi.Fact])},
		{"GET", "/certifications", "/certifications?tenant=default", op, nil, http.StatusOK, new(adminapi.Page[adminapi.Certification])},
		{"GET", "/certifications", "/certifications?tenant=default&limit=1", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.Certification])},
		{"GET", "/certifications/{tenant}/{request_id}", "/certifications/default/odd", op, nil, http.StatusOK, new(adminapi.Certification)},
		{"GET", "/certifications/{tenant}/{request_id}", "/certifications/default/forged", op, nil, http.StatusOK, new(adminapi.Certification)},
		{"GET", "/events", "/events?tenant=default&contract_id=c1", op, nil, http.StatusOK, new(adminapi.Page[adminapi.Event])},
		{"GET", "/dead-letters", "/dead-letters", op, nil, http.StatusOK, new(adminapi.Page[adminapi.DeadLetter])},
		{"GET", "/dead-letters/{id}", fmt.Sprintf("/dead-letters/%d", dls[0]), op, nil, http.StatusOK, new(adminapi.DeadLetter)},
		{"GET", "/dead-letters/issues", "/dead-letters/issues", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.DeadLetterIssue])},
		{"GET", "/activity", "/activity?window=24h", vw, nil, http.StatusOK, new(adminapi.Activity)},
		{"GET", "/streams", "/streams", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.Stream])},
		{"GET", "/documents", "/documents", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.QueuedDocument])},
		{"GET", "/overview", "/overview", vw, nil, http.StatusOK, &overview},
		{"GET", "/log/checkpoints", "/log/checkpoints", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.Checkpoint])},
		{"GET", "/log/status", "/log/status", vw, nil, http.StatusOK, new(adminapi.LogStatus)},
		{"GET", "/audit", "/audit?limit=2", op, nil, http.StatusOK, new(adminapi.Page[adminapi.AuditEntry])},
		{"GET", "/replays", "/replays", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.Job])},
		{"GET", "/openapi.json", "/openapi.json", vw, nil, http.StatusOK, new(map[string]any)},
		{"GET", "/log", "/log", vw, nil, http.StatusOK, new(adminapi.LogTree)},
		{"GET", "/log/proof", "/log/proof?contract=c1&tenant=default", vw, nil, http.StatusOK, new(adminapi.LogProofs)},
		{"GET", "/log/proof", "/log/proof?index=0", vw, nil, http.StatusOK, new(adminapi.LogProofs)},
		{"GET", "/log/consistency", "/log/consistency?from=1", vw, nil, http.StatusOK, new(adminapi.LogConsistency)},
	} {
		run(c)
	}
	if overview.LastReconcile == nil || len(overview.Tenants) == 0 {
		t.Errorf("overview without a last reconcile or tenants: %+v", overview)
	}

	// The error shape, for each status a client meets.
	for _, c := range []struct {
		method, path, token string
		body                any
		status              int
	}{
		{"GET", "/contracts", "", nil, http.StatusUnauthorized},
		{"POST", "/reconcile", vw, nil, http.StatusForbidden},
		{"GET", "/contracts/default/nope", vw, nil, http.StatusNotFound},
		{"GET", "/contracts?limit=0", vw, nil, http.StatusBadRequest},
		{"GET", "/log/proof", vw, nil, http.StatusBadRequest},
		{"GET", "/log/proof?index=0&contract=c1", vw, nil, http.StatusBadRequest},
		{"GET", "/log/proof?index=999999", vw, nil, http.StatusNotFound},
		{"GET", "/log/proof?event=nope", vw, nil, http.StatusNotFound},
		{"GET", "/log/consistency", vw, nil, http.StatusBadRequest},
		{"GET", "/log/consistency?from=999999", vw, nil, http.StatusBadRequest},
		{"DELETE", "/contracts", vw, nil, http.StatusMethodNotAllowed},
	} {
		st, raw := f.send(t, c.method, c.token, c.path, c.body)
		var e adminapi.ErrorBody
		if err := strictDecode(raw, &e); st != c.status || err != nil || e.Error == nil || e.Error.Code == "" {
			t.Errorf("%s %s = %d %s (%v), want %d in the error shape", c.method, c.path, st, raw, err, c.status)
		}
	}

	liveEventDecodes(t, f)
	called["GET /events/live"] = true

	// The evidence route answers a zip or an HTML report (TestEvidenceExport);
	// here, without a bundle store, its error in the error shape.
	if st, raw := f.send(t, "GET", op, "/contracts/default/c1/evidence", nil); st != http.StatusServiceUnavailable ||
		strictDecode(raw, new(adminapi.ErrorBody)) != nil {
		t.Errorf("GET /contracts/default/c1/evidence without bundles = %d %s, want 503 in the error shape", st, raw)
	}
	called["GET /contracts/{tenant}/{id}/evidence"] = true

	for _, rt := range a.table() {
		if !called[rt.Method+" "+rt.Pattern] {
			t.Errorf("%s %s: no answer decoded (add a call to this test)", rt.Method, rt.Pattern)
		}
	}
}

// liveEventDecodes reads one callback event of GET /events/live into
// adminapi.LiveEvent, unknown fields refused.
func liveEventDecodes(t *testing.T, f *fixture) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+adminapi.Prefix+"/events/live", nil)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": live") {
		t.Fatalf("GET /events/live = %d %q %v", resp.StatusCode, line, err)
	}
	env := testEnvelope("default", "c1", "COMPLETE")
	env.Actor = &events.Actor{TenantType: "PERSONAL", TenantName: "张三"}
	f.publish(t, env)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
		if !ok {
			continue
		}
		var ev adminapi.LiveEvent
		if err := strictDecode([]byte(data), &ev); err != nil || ev.ContractID != "c1" || ev.Actor == "" {
			t.Errorf("live event %s: %+v %v", data, ev, err)
		}
		return
	}
}

// endpointRoutes calls every /endpoints route: an endpoint added for a
// live receiver, tested, rotated, disabled and enabled, its attempts and
// dead letters (seeded) listed, retried and purged, a replay dry run, and
// its deletion.
func endpointRoutes(t *testing.T, f *fixture, run func(routeCall)) {
	t.Helper()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(recv.Close)
	op, vw := operatorToken, viewerToken
	var created adminapi.EndpointCreated
	run(routeCall{"POST", "/endpoints", "/endpoints", op, adminapi.EndpointRequest{Tenant: "default", URL: recv.URL,
		Types: []string{"contract.*"}, Headers: map[string]string{"X-Env": "test"}, AllowPrivate: true, AllowHTTP: true},
		http.StatusCreated, &created})
	id := created.Endpoint.ID
	es := f.ledger.(store.EndpointStore)
	now := time.Now().UTC()
	if err := es.AddEndpointAttempts(context.Background(), store.EndpointAttempt{EndpointID: id, FactID: "f1", Attempt: 1,
		At: now, Status: 500, Error: "HTTP 500", NextAttemptAt: &now}); err != nil {
		t.Fatal(err)
	}
	for _, fid := range []string{"f1", "f2"} {
		if err := es.AddEndpointDeadLetter(context.Background(), store.EndpointDeadLetter{EndpointID: id, FactID: fid,
			Subject: f.nats.Names.LedgerContractSubject("default", "SIGNING"), Body: []byte(`{"id":"` + fid + `"}`), Attempts: 15,
			LastError: "HTTP 500", FailedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	p := "/endpoints/" + id
	var test adminapi.EndpointTestResult
	for _, c := range []routeCall{
		{"GET", "/endpoints", "/endpoints?tenant=default", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.Endpoint])},
		{"GET", "/endpoints/{id}", p, vw, nil, http.StatusOK, new(adminapi.EndpointDetail)},
		{"POST", "/endpoints/{id}/test", p + "/test", op, nil, http.StatusOK, &test},
		{"POST", "/endpoints/{id}/rotate-secret", p + "/rotate-secret", op, adminapi.RotateSecretRequest{Overlap: "1h"}, http.StatusOK, new(adminapi.SecretRotated)},
		{"POST", "/endpoints/{id}/disable", p + "/disable", op, nil, http.StatusOK, new(adminapi.Endpoint)},
		{"POST", "/endpoints/{id}/enable", p + "/enable", op, nil, http.StatusOK, new(adminapi.Endpoint)},
		{"GET", "/endpoints/{id}/attempts", p + "/attempts", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.EndpointAttempt])},
		{"GET", "/endpoints/{id}/dead-letters", p + "/dead-letters", vw, nil, http.StatusOK, new(adminapi.Page[adminapi.EndpointDeadLetter])},
		{"POST", "/endpoints/{id}/dead-letters/retry", p + "/dead-letters/retry", op, adminapi.EndpointDeadLetterRequest{FactIDs: []string{"f1"}},
			http.StatusOK, new(adminapi.EndpointDeadLetterResult)},
		{"POST", "/endpoints/{id}/dead-letters/purge", p + "/dead-letters/purge", op, adminapi.EndpointDeadLetterRequest{All: true},
			http.StatusOK, new(adminapi.EndpointDeadLetterResult)},
		{"POST", "/endpoints/{id}/replay", p + "/replay", op, adminapi.EndpointReplayRequest{Since: base.Format(time.RFC3339), DryRun: true},
			http.StatusOK, new(adminapi.EndpointReplayResult)},
		{"DELETE", "/endpoints/{id}", p, op, nil, http.StatusOK, new(adminapi.Deleted)},
	} {
		run(c)
	}
	if !test.OK || test.Status != 204 {
		t.Errorf("endpoint test: %+v", test)
	}
}
