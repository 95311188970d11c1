package receiver_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/receiver"
)

// TestMetricsPresetPerTenant: before any callback, every configured
// tenant has its request series at 0 for each route and for the outcomes
// alerts watch (success, duplicate, unavailable, internal, invalid_content),
// so a rate over the first error is not lost; unknown tenants get none.
func TestMetricsPresetPerTenant(t *testing.T) {
	env := natstest.New(t)
	reg := prometheus.NewRegistry()
	if _, err := receiver.New(receiver.Options{Tenants: testTenants(t), Publisher: env.JS, Names: env.Names, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ route, tenant, outcome string }
	seen := map[key]float64{}
	dups := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			switch f.GetName() {
			case "qyshook_receiver_requests_total":
				seen[key{l["route"], l["tenant"], l["outcome"]}] = m.GetCounter().GetValue()
			case "qyshook_receiver_duplicates_total":
				dups[l["tenant"]] = true
			}
		}
	}
	for tenant := range testTenants(t) {
		for _, route := range []string{"contract", "auth_personal", "auth_company"} {
			for _, outcome := range []string{"success", "duplicate", "unavailable", "internal", "invalid_content"} {
				v, ok := seen[key{route, tenant, outcome}]
				if !ok || v != 0 {
					t.Errorf("series route=%s tenant=%s outcome=%s: present %v, value %v; want present at 0", route, tenant, outcome, ok, v)
				}
			}
		}
		if !dups[tenant] {
			t.Errorf("qyshook_receiver_duplicates_total{tenant=%q} not preset", tenant)
		}
	}
	if want := 3 * 3 * 5; len(seen) != want {
		t.Errorf("%d request series before any callback, want %d (no unknown tenant, no other outcome)", len(seen), want)
	}
	if n := testutil.CollectAndCount(reg, "qyshook_receiver_verification_failures_total"); n != 0 {
		t.Errorf("%d verification failure series before any callback, want 0", n)
	}
}
