package config_test

import (
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/config"
)

// TestAPIBudget: QYSHOOK_API_RATE and QYSHOOK_API_INFLIGHT are every
// tenant's budget unless its [tenant.qys] sets api_rate / api_inflight
// (0 there turns the process's limit off for that tenant); bad values are
// refused with the setting's name.
func TestAPIBudget(t *testing.T) {
	const file = `
[[tenant]]
name = "own"
callback_secrets = ["` + secretA + `"]
[tenant.qys]
api_rate = 40
api_inflight = 0

[[tenant]]
name = "inherits"
callback_secrets = ["` + secretB + `"]
`
	env := baseline()
	env["QYSHOOK_API_RATE"] = "150"
	env["QYSHOOK_API_INFLIGHT"] = "8"
	env["QYSHOOK_CONFIG"] = writeFile(t, file)
	c, err := config.Load(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIBudget != (config.APIBudget{Rate: 150, InFlight: 8}) {
		t.Fatalf("process budget %+v", c.APIBudget)
	}
	for name, want := range map[string][2]int{"default": {150, 8}, "own": {40, 0}, "inherits": {150, 8}} {
		tn, _ := c.Tenant(name)
		if got := [2]int{tn.QYS.APIRate, tn.QYS.APIInFlight}; got != want {
			t.Errorf("tenant %s: rate, in flight = %v, want %v", name, got, want)
		}
	}

	unset, err := config.Load(getenv(baseline()))
	if err != nil || unset.APIBudget != (config.APIBudget{}) {
		t.Fatalf("unset: %+v, %v; want no limits", unset.APIBudget, err)
	}

	for _, tc := range []struct{ key, want string }{
		{"api_rate = -1", `tenant "x": qys.api_rate: -1: must be 0 (no rate limit) or 1 to 100000`},
		{"api_inflight = 10001", `tenant "x": qys.api_inflight: 10001: must be 0 (no bound) or 1 to 10000`},
		{`api_rate = "fast"`, "check value types"},
	} {
		env := map[string]string{"QYSHOOK_CONFIG": writeFile(t, "[[tenant]]\nname = \"x\"\ncallback_secrets = [\""+
			secretA+"\"]\n[tenant.qys]\n"+tc.key+"\n")}
		if _, err := config.Load(getenv(env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.key, err, tc.want)
		}
	}
}
