package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

func adminLog(t *testing.T, l store.Ledger) store.AdminLog {
	t.Helper()
	a, ok := l.(store.AdminLog)
	if !ok {
		t.Fatalf("%T does not implement store.AdminLog", l)
	}
	return a
}

// testAudit: entries come back newest first, with their selector, count
// and outcome; BeforeID pages; a bad selector is refused.
func testAudit(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	a := adminLog(t, l)
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	var ids []int64
	for i, sel := range []string{`{"all":true}`, `{"tenant":"default","from_seq":3}`, ``} {
		id, err := a.AddAudit(ctx, store.AuditEntry{At: at.Add(time.Duration(i) * time.Second), Who: "operator:ab12",
			Action: "POST /replays", Selector: json.RawMessage(sel), Count: int64(10 + i), Outcome: "ok", JobID: "job-1"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if !(ids[0] < ids[1] && ids[1] < ids[2]) {
		t.Fatalf("ids not increasing: %v", ids)
	}
	all, err := a.Audit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].ID != ids[2] || all[2].ID != ids[0] {
		t.Fatalf("Audit = %+v, want 3 newest first", all)
	}
	e := all[1]
	if e.Who != "operator:ab12" || e.Action != "POST /replays" || e.Count != 11 || e.Outcome != "ok" || e.JobID != "job-1" ||
		!e.At.Equal(at.Add(time.Second)) {
		t.Errorf("entry = %+v", e)
	}
	var sel map[string]any
	if err := json.Unmarshal(e.Selector, &sel); err != nil || sel["tenant"] != "default" || sel["from_seq"] != 3.0 {
		t.Errorf("selector = %s (%v)", e.Selector, err)
	}
	if string(all[0].Selector) != "{}" {
		t.Errorf("empty selector stored as %s, want {}", all[0].Selector)
	}
	page, err := a.Audit(ctx, store.AuditFilter{BeforeID: ids[2], Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != ids[1] {
		t.Fatalf("page = %+v, %v", page, err)
	}
	if _, err := a.AddAudit(ctx, store.AuditEntry{Who: "x", Action: "y", Selector: json.RawMessage("{")}); err == nil {
		t.Error("AddAudit accepted a selector that is not JSON")
	}
	if _, err := a.AddAudit(ctx, store.AuditEntry{Action: "y"}); err == nil {
		t.Error("AddAudit accepted an entry without who")
	}
}

// testReconcileRuns: a run is inserted when it starts and completed by a
// second save with the same id; newest first.
func testReconcileRuns(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	a := adminLog(t, l)
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	since := t0.Add(-72 * time.Hour)
	for i, id := range []string{"rec-1", "rec-2"} {
		if err := a.SaveReconcileRun(ctx, store.ReconcileRun{ID: id, StartedAt: t0.Add(time.Duration(i) * time.Minute),
			StartedBy: "operator:ab12", Since: since}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := a.ReconcileRuns(ctx, 0)
	if err != nil || len(runs) != 2 || runs[0].ID != "rec-2" || runs[0].FinishedAt != nil {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	done := t0.Add(2 * time.Minute)
	if err := a.SaveReconcileRun(ctx, store.ReconcileRun{ID: "rec-1", StartedAt: t0, FinishedAt: &done, StartedBy: "operator:ab12",
		Since: since, Checked: 7, Triggered: 2, Requeued: 1, CertificationsChecked: 3, CertificationsUnconfirmed: 2,
		UnconfirmedCertifications: []string{"r-9", "r-10"}, Error: "tenant x: boom"}); err != nil {
		t.Fatal(err)
	}
	runs, err = a.ReconcileRuns(ctx, 1)
	if err != nil || len(runs) != 1 || runs[0].ID != "rec-2" {
		t.Fatalf("limit 1 = %+v, %v", runs, err)
	}
	runs, _ = a.ReconcileRuns(ctx, 0)
	r := runs[1]
	if r.ID != "rec-1" || r.FinishedAt == nil || !r.FinishedAt.Equal(done) || r.Checked != 7 || r.Triggered != 2 ||
		r.Requeued != 1 || r.Error != "tenant x: boom" || !r.Since.Equal(since) || !r.StartedAt.Equal(t0) || r.StartedBy != "operator:ab12" {
		t.Errorf("finished run = %+v", r)
	}
	if r.CertificationsChecked != 3 || r.CertificationsUnconfirmed != 2 || len(r.UnconfirmedCertifications) != 2 ||
		r.UnconfirmedCertifications[0] != "r-9" || r.UnconfirmedCertifications[1] != "r-10" {
		t.Errorf("finished run's certifications = %d checked, %d unconfirmed %v; want 3, 2 [r-9 r-10]",
			r.CertificationsChecked, r.CertificationsUnconfirmed, r.UnconfirmedCertifications)
	}
	if runs[0].UnconfirmedCertifications == nil || len(runs[0].UnconfirmedCertifications) != 0 {
		t.Errorf("running run's unconfirmed ids = %#v, want empty", runs[0].UnconfirmedCertifications)
	}
	// The ids are bounded.
	many := make([]string, store.MaxUnconfirmedIDs+5)
	for i := range many {
		many[i] = fmt.Sprintf("r-%d", i)
	}
	if err := a.SaveReconcileRun(ctx, store.ReconcileRun{ID: "rec-2", StartedAt: t0.Add(time.Minute), FinishedAt: &done,
		StartedBy: "operator:ab12", CertificationsUnconfirmed: int64(len(many)), UnconfirmedCertifications: many}); err != nil {
		t.Fatal(err)
	}
	runs, _ = a.ReconcileRuns(ctx, 1)
	if got := runs[0]; got.CertificationsUnconfirmed != int64(len(many)) || len(got.UnconfirmedCertifications) != store.MaxUnconfirmedIDs {
		t.Errorf("run with %d ids: count %d, %d ids kept; want the count and %d ids", len(many),
			got.CertificationsUnconfirmed, len(got.UnconfirmedCertifications), store.MaxUnconfirmedIDs)
	}
}

// testCounts: contracts by tenant and status, certifications by tenant.
func testCounts(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	a := adminLog(t, l)
	empty, err := a.Counts(ctx)
	if err != nil || len(empty.Contracts) != 0 || len(empty.Certifications) != 0 || len(empty.UnconfirmedCertifications) != 0 ||
		len(empty.PendingCertifications) != 0 {
		t.Fatalf("Counts on an empty ledger = %+v, %v", empty, err)
	}
	for i, st := range []step{{status: "SIGNING", confirmed: true}, {status: "SIGNING", confirmed: true},
		{status: "COMPLETE", confirmed: true, signed: 3}} {
		if _, err := l.ApplyContract(ctx, change(fmt.Sprintf("e%d", i), fmt.Sprintf("c%d", i), st)); err != nil {
			t.Fatal(err)
		}
	}
	// r1 unconfirmed (pending), r2 confirmed in progress (pending), r3
	// confirmed success, r4 unconfirmed in another tenant.
	for i, c := range []store.Certification{
		{Tenant: tenant, RequestID: "r1", Kind: "personal", Status: "1", Reason: store.CertReasonNotFound},
		{Tenant: tenant, RequestID: "r2", Kind: "company", Status: "4", State: lifecycle.CertInProgress, Confirmed: true},
		{Tenant: tenant, RequestID: "r3", Kind: "company", Status: "2", State: lifecycle.CertSuccess, Confirmed: true},
		{Tenant: "t2", RequestID: "r4", Kind: "personal", Status: "1", Reason: store.CertReasonNoAPI},
	} {
		ev := certEvent(fmt.Sprintf("a%d", i))
		ev.Tenant = c.Tenant
		c.UpdatedAt = time.Now()
		if err := l.ApplyCertification(ctx, ev, c); err != nil {
			t.Fatal(err)
		}
	}
	c, err := a.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Contracts[tenant]["SIGNING"] != 2 || c.Contracts[tenant]["COMPLETE"] != 1 || len(c.Contracts) != 1 ||
		c.Certifications[tenant] != 3 || c.Certifications["t2"] != 1 {
		t.Errorf("Counts = %+v", c)
	}
	want := store.CertificationCounts{Unconfirmed: map[string]int64{tenant: 1, "t2": 1}, Pending: map[string]int64{tenant: 2, "t2": 1}}
	if !maps.Equal(c.UnconfirmedCertifications, want.Unconfirmed) || !maps.Equal(c.PendingCertifications, want.Pending) {
		t.Errorf("Counts: unconfirmed %v, pending %v; want %v, %v", c.UnconfirmedCertifications, c.PendingCertifications,
			want.Unconfirmed, want.Pending)
	}
	cc, err := a.CertificationCounts(ctx)
	if err != nil || !maps.Equal(cc.Unconfirmed, want.Unconfirmed) || !maps.Equal(cc.Pending, want.Pending) {
		t.Errorf("CertificationCounts = %+v, %v; want %+v", cc, err, want)
	}
	// Confirming r1 takes it out of both counts.
	if err := l.ApplyCertification(ctx, certEvent("a9"), store.Certification{Tenant: tenant, RequestID: "r1", Kind: "personal",
		Status: "true", State: lifecycle.CertSuccess, Confirmed: true, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	cc, err = a.CertificationCounts(ctx)
	if err != nil || cc.Unconfirmed[tenant] != 0 || cc.Pending[tenant] != 1 {
		t.Errorf("after confirming r1: CertificationCounts = %+v, %v; want unconfirmed 0, pending 1 in %s", cc, err, tenant)
	}
}
