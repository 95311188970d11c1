package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// TestCertificationGauges: the dispatcher's /metrics counts, from the
// ledger, the certifications the API has not confirmed and those still
// polled, by tenant; a configured tenant without any shows 0.
func TestCertificationGauges(t *testing.T) {
	u := "sqlite://" + t.TempDir() + "/l.db"
	l := testdb.OpenURL(t, u)
	ctx := context.Background()
	for i, c := range []store.Certification{
		{Tenant: "default", RequestID: "forged", Kind: "personal", Status: "1", State: lifecycle.CertSuccess, Reason: store.CertReasonNotFound},
		{Tenant: "default", RequestID: "real", Kind: "personal", Status: "true", State: lifecycle.CertSuccess, Confirmed: true},
		{Tenant: "default", RequestID: "wait", Kind: "company", Status: "4", State: lifecycle.CertInProgress, Confirmed: true},
	} {
		ev := store.Event{ID: fmt.Sprintf("e%d", i), Tenant: c.Tenant, Kind: "auth." + c.Kind, Type: c.Status, Source: "callback",
			Payload: json.RawMessage(`{}`)}
		c.UpdatedAt = time.Now()
		if err := l.ApplyCertification(ctx, ev, c); err != nil {
			t.Fatal(err)
		}
	}
	env := natstest.New(t)
	addr, _ := start(t, load(t, env, map[string]string{"QYSHOOK_DB": u}), app.Roles{Dispatcher: true})
	code, body := getBody(t, "http://"+addr+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`qyshook_certifications_unconfirmed{tenant="default"} 1`,
		`qyshook_certifications_pending{tenant="default"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s:\n%s", want, grepLines(body, "qyshook_certifications"))
		}
	}
}

// TestCertificationGaugesZero: every configured tenant is reported, 0
// when it has no such certification, so an alert on the gauge sees it.
func TestCertificationGaugesZero(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	reg := prometheus.NewRegistry()
	reg.MustRegister(app.NewCertificationCollector(l.(store.CertificationCounter), []string{"default", "t2"}))
	want := `
# HELP qyshook_certifications_unconfirmed Certifications the certification-result API has not confirmed (their state rests on a callback), by tenant.
# TYPE qyshook_certifications_unconfirmed gauge
qyshook_certifications_unconfirmed{tenant="default"} 0
qyshook_certifications_unconfirmed{tenant="t2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "qyshook_certifications_unconfirmed"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "qyshook_certifications_pending"); n != 2 {
		t.Errorf("%d pending series, want 2 (one per tenant)", n)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
