package app_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestBudgetsWired: QYSHOOK_API_RATE and QYSHOOK_API_INFLIGHT reach the
// tenant's client in an opened process, and its calls show in the budget
// metrics under the tenant's label.
func TestBudgetsWired(t *testing.T) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	id := fake.AddContract(qystest.ContractSpec{Subject: "s", Status: lifecycle.Signing})
	env := map[string]string{
		"QYSHOOK_CALLBACK_SECRET": "0123456789abcdef", "QYSHOOK_DATA_DIR": t.TempDir(),
		"QYSHOOK_QYS_BASE_URL": fake.URL, "QYSHOOK_QYS_APP_TOKEN": fake.AppToken, "QYSHOOK_QYS_APP_SECRET": fake.AppSecret,
		"QYSHOOK_API_RATE": "50", "QYSHOOK_API_INFLIGHT": "3",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Open(context.Background(), cfg, zerolog.Nop(), app.Parts{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	b := svc.Budgets.Budget("default")
	if b == nil || b.Stats().Rate != 50 {
		t.Fatalf("budget of default: %+v", b.Stats())
	}
	api := svc.APIs["default"]
	for range 3 {
		if _, err := api.ContractDetail(context.Background(), qys.ContractQuery{ContractID: id}); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(svc.Budgets)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != "default" {
				t.Fatalf("%s: labels %v, want tenant=default", mf.GetName(), m.GetLabel())
			}
		}
		found[mf.GetName()] = true
		if mf.GetName() == "qyshook_api_budget_wait_seconds" {
			if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n != 3 {
				t.Fatalf("wait observations = %d, want 3 (one per request)", n)
			}
		}
	}
	for _, name := range []string{"qyshook_api_budget_wait_seconds", "qyshook_api_inflight_requests",
		"qyshook_api_budget_rate", "qyshook_api_budget_waits_total", "qyshook_api_rate_limited_total", "qyshook_api_throttled"} {
		if !found[name] {
			t.Errorf("metric %s not exposed", name)
		}
	}
}
