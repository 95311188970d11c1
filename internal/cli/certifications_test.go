package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// certOpsEnvelope is a personal certification callback as the receiver
// stores it (the callback says status, e.g. success).
func certOpsEnvelope(requestID, status string) events.Envelope {
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindAuthPersonal, Type: "AUTH",
		Auth: &events.Auth{RequestID: requestID, Status: status, Success: status == qys.AuthStatusSuccess,
			Mode: "FACE", Name: "张三"},
		ReceivedAt: time.Now().UTC(), Format: "A", Source: events.SourceCallback,
		Payload: json.RawMessage(`{"authId":"` + requestID + `","name":"张三"}`),
	}
	env.ID = events.EventID("default", events.KindAuthPersonal, requestID, "AUTH", status, "")
	return env
}

// TestCertificationsThroughTheAPI: `certifications list|show` read the
// admin API; a success callback the API does not know (forged, or not
// yet known) is shown unconfirmed with its reason, never as a bare
// success; --unconfirmed lists those alone; a viewer reads masked.
func TestCertificationsThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := newFake(t)
	fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-ok", Mode: "FACE", Status: qys.AuthStatusSuccess})
	publishOps(t, n, certOpsEnvelope("pe-ok", qys.AuthStatusSuccess))
	publishOps(t, n, certOpsEnvelope("ghost", qys.AuthStatusSuccess))
	svc := startOpsService(t, l, n, fake)
	opsEventually(t, "both certifications applied", func() bool {
		a, err1 := l.Certification(ctx, "default", "pe-ok")
		b, err2 := l.Certification(ctx, "default", "ghost")
		return err1 == nil && err2 == nil && a.Confirmed && b.State == lifecycle.CertSuccess
	})
	vars, dir := clientVars(t, svc.url, opsOperatorToken)

	r := mustOpsRun(t, ExitOK, vars, "certifications", "list")
	lines := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			lines[f[1]] = line
		}
	}
	if g := lines["ghost"]; !strings.Contains(g, "SUCCESS (unconfirmed: not_found)") {
		t.Errorf("certifications list: ghost shown %q, want SUCCESS flagged unconfirmed (not_found)\n%s", g, r)
	}
	if ok := lines["pe-ok"]; !strings.Contains(ok, "SUCCESS") || strings.Contains(ok, "unconfirmed") {
		t.Errorf("certifications list: pe-ok shown %q, want a confirmed SUCCESS\n%s", ok, r)
	}
	if !strings.Contains(r.stdout, "CONFIRMED") || !strings.Contains(r.stdout, "STATE") {
		t.Errorf("certifications list: no STATE or CONFIRMED column\n%s", r)
	}

	var rows []adminapi.Certification
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "certifications", "list", "--unconfirmed", "--json"), &rows)
	if len(rows) != 1 || rows[0].RequestID != "ghost" || rows[0].Confirmed || rows[0].Reason != store.CertReasonNotFound ||
		rows[0].State != lifecycle.CertSuccess || !rows[0].Pending {
		t.Errorf("certifications list --unconfirmed --json = %+v, want ghost alone, unconfirmed not_found, pending", rows)
	}
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "certifications", "list", "--confirmed", "--json"), &rows)
	if len(rows) != 1 || rows[0].RequestID != "pe-ok" || !rows[0].Confirmed {
		t.Errorf("certifications list --confirmed --json = %+v, want pe-ok alone", rows)
	}
	mustOpsRun(t, ExitUsage, vars, "certifications", "list", "--confirmed", "--unconfirmed")

	r = mustOpsRun(t, ExitOK, vars, "certifications", "show", "ghost")
	for _, want := range []string{"SUCCESS (unconfirmed: not_found)", "the API did not confirm it", "张三"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("certifications show ghost: no %q\n%s", want, r)
		}
	}
	var one adminapi.Certification
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "certifications", "show", "pe-ok", "--json"), &one)
	if !one.Confirmed || one.State != lifecycle.CertSuccess || one.Reason != "" {
		t.Errorf("certifications show pe-ok --json = %+v", one)
	}
	assertOneLine(t, mustOpsRun(t, ExitNotFound, vars, "certifications", "show", "nope"),
		"qyshook certifications: no certification nope")

	viewer, _ := clientVars(t, svc.url, opsViewerToken)
	r = mustOpsRun(t, ExitOK, viewer, "certifications", "show", "ghost")
	if strings.Contains(r.stdout, "张三") || !strings.Contains(r.stdout, "张*") {
		t.Errorf("a viewer read an unmasked name:\n%s", r)
	}
	assertUntouched(t, dir)
}

// TestReconcileReportsCertifications: a pass counts the pending
// certifications apart from the contracts, names the ones the API could
// not confirm, and records both in its run.
func TestReconcileReportsCertifications(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := newFake(t)
	fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-ok", Mode: "FACE", Status: qys.AuthStatusSuccess})
	// Two unconfirmed certifications not updated for hours: the platform
	// knows pe-ok, not ghost.
	old := time.Now().Add(-3 * time.Hour)
	for i, id := range []string{"pe-ok", "ghost"} {
		ev := store.Event{ID: "cert-" + id, Tenant: "default", Kind: events.KindAuthPersonal, Type: "AUTH", Source: "callback",
			ReceivedAt: old, Payload: json.RawMessage(`{}`)}
		if err := l.ApplyCertification(ctx, ev, store.Certification{Tenant: "default", RequestID: id, Kind: "personal",
			Status: qys.AuthStatusSuccess, State: lifecycle.CertSuccess, Reason: store.CertReasonNotFound,
			UpdatedAt: old.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	svc := startOpsService(t, l, n, fake)
	vars, _ := clientVars(t, svc.url, opsOperatorToken)
	r := mustOpsRun(t, ExitOK, vars, "reconcile")
	for _, want := range []string{"checked 0 contracts and 2 pending certifications",
		"certifications: 1 confirmed by the API, 1 unconfirmed (ghost;"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reconcile: no %q\n%s", want, r)
		}
	}
	var run adminapi.ReconcileRun
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "reconcile", "--json"), &run)
	if run.Checked != 0 || run.CertificationsUnconfirmed != 1 || len(run.UnconfirmedCertifications) != 1 ||
		run.UnconfirmedCertifications[0] != "ghost" {
		t.Errorf("reconcile --json = %+v, want ghost unconfirmed and no contract checked", run)
	}
	runs, err := l.(store.AdminLog).ReconcileRuns(ctx, 0)
	if err != nil || len(runs) != 2 {
		t.Fatalf("reconcile runs = %+v, %v", runs, err)
	}
	if first := runs[1]; first.CertificationsChecked != 1 || first.CertificationsUnconfirmed != 1 ||
		len(first.UnconfirmedCertifications) != 1 || first.UnconfirmedCertifications[0] != "ghost" {
		t.Errorf("first run recorded = %+v, want 1 checked, 1 unconfirmed [ghost]", first)
	}
}
