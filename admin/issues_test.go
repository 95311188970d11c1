package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/failures"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// invalidSignature is how the dispatcher records a dead letter of wrong
// API credentials (qys.APIError 442 INVALID SIGNATURE, retries used up).
const invalidSignature = "retries_exhausted:api_error: confirm contract: qys: /v2/contract/detail: code 442 (http 200): INVALID SIGNATURE"

// addDeadLetterReason stores a dead letter of env with a stored reason.
func (f *fixture) addDeadLetterReason(tb testing.TB, env events.Envelope, seq uint64, reason string, at time.Time) int64 {
	tb.Helper()
	b, _ := env.Encode()
	id, err := f.ledger.AddDeadLetter(context.Background(), store.DeadLetter{EventID: env.ID, Tenant: env.Tenant,
		Consumer: events.DurableLedger, Subject: f.nats.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), StreamSeq: seq,
		Reason: reason, Deliveries: 8, Payload: b, CreatedAt: at})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// TestDeadLetterIssues reproduces "dead letters as a wall of text": 13
// dead letters of one cause (wrong credentials) and 2 of another
// (unknown contract) come back as two issues with counts, first and last
// seen, the contracts affected and a fix hint; each row names its
// contract, type and issue; a dry run of "retry this group" counts the
// 13 and republishes nothing.
func TestDeadLetterIssues(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 13; i++ {
		f.addDeadLetterReason(t, testEnvelope("default", fmt.Sprintf("c%d", i), "SIGNED"), uint64(100+i), invalidSignature,
			t0.Add(time.Duration(i)*time.Minute))
	}
	for i := 0; i < 2; i++ {
		f.addDeadLetterReason(t, testEnvelope("default", "gone", []string{"SEND", "SIGNED"}[i]), uint64(200+i),
			"contract_not_found: confirm contract: qys: /v2/contract/detail: code 1100001 (http 200): no such contract", t0)
	}
	var p adminapi.Page[adminapi.DeadLetterIssue]
	if st := f.get(t, viewerToken, "/dead-letters/issues", &p); st != http.StatusOK || len(p.Items) != 2 {
		t.Fatalf("issues: %d, %+v; want 2 issues", st, p.Items)
	}
	is := p.Items[0]
	if is.Count != 13 || is.Code != "442" || is.Endpoint != "/v2/contract/detail" || is.Reason != "retries_exhausted:api_error" ||
		is.Hint != "credentials" || is.ContractsAffected != 13 || len(is.Contracts) != 13 || is.Tenant != "default" ||
		!is.FirstSeen.Equal(t0) || !is.LastSeen.Equal(t0.Add(12*time.Minute)) || !strings.Contains(is.Error, "INVALID SIGNATURE") {
		t.Errorf("the credentials issue: %+v", is)
	}
	if u := p.Items[1]; u.Count != 2 || u.Hint != "unknown_contract" || u.ContractsAffected != 1 || u.Code != "1100001" {
		t.Errorf("the unknown-contract issue: %+v", u)
	}
	var dl adminapi.Page[adminapi.DeadLetter]
	f.get(t, viewerToken, "/dead-letters?limit=1", &dl)
	if len(dl.Items) != 1 || dl.Items[0].ContractID != "c0" || dl.Items[0].Type != "SIGNED" || dl.Items[0].Kind != "contract" ||
		dl.Items[0].Issue != is.Key || dl.Items[0].ReceivedAt == nil {
		t.Errorf("a dead letter row: %+v; want its contract, type, kind and issue", dl.Items)
	}
	// Retry this group: the dry run counts it and republishes nothing.
	before := f.streamMsgs(t, f.nats.Names.CallbacksStream())
	var dry adminapi.RetryResult
	if st := f.post(t, operatorToken, "/dead-letters/retry", adminapi.RetryRequest{Issue: is.Key, DryRun: true}, &dry); st != http.StatusOK ||
		dry.Selected != 13 || dry.Republished != 0 || len(dry.Items) != 13 || dry.Items[0].Result != "dry_run" || dry.Items[0].ContractID == "" {
		t.Fatalf("dry run of the group: %d %+v", st, dry)
	}
	if after := f.streamMsgs(t, f.nats.Names.CallbacksStream()); after != before {
		t.Errorf("a dry run published %d messages", after-before)
	}
	var done adminapi.RetryResult
	if st := f.post(t, operatorToken, "/dead-letters/retry", adminapi.RetryRequest{Issue: is.Key}, &done); st != http.StatusOK ||
		done.Selected != 13 || done.Republished != 13 {
		t.Fatalf("retry of the group: %d %+v", st, done)
	}
	entries, err := f.ledger.(store.AdminLog).Audit(context.Background(), store.AuditFilter{Limit: 10})
	if err != nil || len(entries) < 2 || entries[1].Outcome != "dry_run" || entries[1].Count != 13 {
		t.Errorf("the dry run is not audited: %+v, %v", entries, err)
	}
}

// TestFailingNowMasksViewers: the overview's failing causes come from
// the tracker, with personal number shapes in the error text masked for
// a viewer and the degraded note while the platform fails.
func TestFailingNowMasksViewers(t *testing.T) {
	tr := failures.New(0)
	f := newFixture(t)
	a, err := New(Options{Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, JS: f.nats.JS, Names: f.nats.Names, Failures: tr})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Config.Handler = a
	tr.Failed("default", "api_error", "", `Post "https://qys.example/v2/contract/detail?mobile=13812345678": connection refused`)
	var ov adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &ov); st != http.StatusOK || len(ov.Failing) != 1 {
		t.Fatalf("overview: %d %+v", st, ov.Failing)
	}
	c := ov.Failing[0]
	if strings.Contains(c.LastError, "13812345678") || !strings.Contains(c.LastError, "138****5678") || !c.Platform ||
		c.Hint != "unreachable" || !strings.HasPrefix(ov.Degraded, "platform API failing for") || ov.DegradedSince == nil {
		t.Errorf("viewer's failing cause %+v, degraded %q", c, ov.Degraded)
	}
	f.get(t, operatorToken, "/overview", &ov)
	if !strings.Contains(ov.Failing[0].LastError, "13812345678") {
		t.Errorf("operator's failing cause masked: %q", ov.Failing[0].LastError)
	}
	tr.Succeeded("default")
	var after adminapi.Overview
	f.get(t, operatorToken, "/overview", &after)
	if len(after.Failing) != 0 || after.Degraded != "" {
		t.Errorf("after a success: failing %+v, degraded %q", after.Failing, after.Degraded)
	}
}

// TestContractTotalsAndPrefix: GET /contracts?total=true counts what the
// filters select over every page, and id_prefix finds ids by their start
// (before: an exact id only, no total), on SQLite and PostgreSQL.
func TestContractTotalsAndPrefix(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixtureKind(t, kind)
			for i := 0; i < 7; i++ {
				MustApply(t, f.ledger, "default", fmt.Sprintf("31%02d", i), []string{"SIGNING", "COMPLETE"}[i%2], base.Add(time.Duration(i)*time.Hour))
			}
			MustApply(t, f.ledger, "default", "4100", "SIGNING", base)
			var p adminapi.ContractPage
			if st := f.get(t, viewerToken, "/contracts?limit=2&total=true", &p); st != http.StatusOK || p.Total == nil || *p.Total != 8 ||
				len(p.Items) != 2 || p.NextCursor == "" {
				t.Fatalf("first page: %d total %v, %d items", st, p.Total, len(p.Items))
			}
			var next adminapi.ContractPage
			f.get(t, viewerToken, "/contracts?limit=2&total=true&cursor="+p.NextCursor, &next)
			if next.Total == nil || *next.Total != 8 {
				t.Errorf("second page total %v, want 8 (every page)", next.Total)
			}
			var pre adminapi.ContractPage
			f.get(t, viewerToken, "/contracts?id_prefix=31&status=SIGNING&total=true", &pre)
			if pre.Total == nil || *pre.Total != 4 || len(pre.Items) != 4 {
				t.Errorf("prefix 31, SIGNING: total %v, %d items; want 4", pre.Total, len(pre.Items))
			}
			var since adminapi.ContractPage
			f.get(t, viewerToken, "/contracts?total=true&updated_since="+base.Add(5*time.Hour).Format(time.RFC3339), &since)
			if since.Total == nil || *since.Total != 2 {
				t.Errorf("updated since +5 h: total %v, want 2", since.Total)
			}
			var none adminapi.ContractPage
			f.get(t, viewerToken, "/contracts?id_prefix=3%25", &none)
			if len(none.Items) != 0 || none.Total != nil {
				t.Errorf("prefix 3%%: %d items (a LIKE pattern?), total %v without total=true", len(none.Items), none.Total)
			}
		})
	}
}

// testActivity is a recorder with a received callback and a lag.
func testActivity() *activity.Recorder {
	r := activity.New()
	r.Add(activity.Received, "default", 3)
	r.Set(activity.Lag, "", 2)
	return r
}

// TestActivity: GET /activity answers the recorder's window (an hour by
// minutes, a day by 15 minutes) and refuses another window.
func TestActivity(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	var v adminapi.Activity
	if st := f.get(t, viewerToken, "/activity", &v); st != http.StatusOK || v.Window != "1h" || v.Step != 60 || len(v.Series) != 2 ||
		v.Series[0].Name != "received" || v.Series[0].Tenant != "default" || len(v.Series[0].Points) != 60 || v.Series[0].Points[59] != 3 {
		t.Errorf("an hour: %d %+v", st, v)
	}
	var day adminapi.Activity
	if f.get(t, viewerToken, "/activity?window=24h", &day); day.Step != 900 || len(day.Series) != 2 || len(day.Series[1].Points) != 96 {
		t.Errorf("a day: %+v", day)
	}
	f.wantError(t, http.MethodGet, viewerToken, "/activity?window=7d", http.StatusBadRequest, adminapi.CodeBadRequest)
}

// TestLiveCertificationState reproduces "certification status is a raw
// 1": a certification callback's live event carries the state word.
func TestLiveCertificationState(t *testing.T) {
	env := events.Envelope{Schema: events.SchemaCallbackV1, ID: "e1", Tenant: "default", Kind: events.KindAuthPersonal, Type: "1",
		ReceivedAt: time.Now().UTC(), Format: "A", Source: events.SourceCallback, Payload: []byte(`{}`),
		Auth: &events.Auth{RequestID: "r1", Status: "1"}}
	b, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if ev := decodeLive("callback", "s", b, false); ev.Status != "SUCCESS" {
		t.Errorf("live status %q, want SUCCESS", ev.Status)
	}
	env.Auth.Status = "2"
	b, _ = env.Encode()
	if ev := decodeLive("callback", "s", b, false); ev.Status != "FAILED" {
		t.Errorf("live status %q, want FAILED", ev.Status)
	}
}
