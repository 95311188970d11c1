package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/internal/config"
)

const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestDeliverySettings: defaults, an explicit schedule, and clear
// refusals.
func TestDeliverySettings(t *testing.T) {
	c, err := config.Load(getenv(baseline()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivery.Timeout != delivery.DefaultTimeout || len(c.Delivery.Schedule) != len(delivery.DefaultSchedule) ||
		c.Delivery.DisableAfter != delivery.DefaultDisableAfter {
		t.Fatalf("defaults: %+v", c.Delivery)
	}
	if total := delivery.Total(delivery.DefaultSchedule); total < 72*time.Hour || total > 80*time.Hour {
		t.Fatalf("the default schedule spans %s, want about 3 days", total)
	}
	env := baseline()
	env["QYSHOOK_DELIVERY_SCHEDULE"] = "1s, 1m,1h"
	if c, err = config.Load(getenv(env)); err != nil || len(c.Delivery.Schedule) != 3 || c.Delivery.Schedule[1] != time.Minute {
		t.Fatalf("schedule: %v %v", c.Delivery.Schedule, err)
	}
	for k, v := range map[string]string{"QYSHOOK_DELIVERY_SCHEDULE": "1s,soon", "QYSHOOK_DELIVERY_TIMEOUT": "10m"} {
		env := baseline()
		env[k] = v
		if _, err := config.Load(getenv(env)); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want a line naming it", k, v, err)
		}
	}
}

// TestEndpointsInTheFile: [[endpoint]] tables are read with their secret
// from a variable; a private address, a bad secret and a missing one are
// refused without repeating the secret.
func TestEndpointsInTheFile(t *testing.T) {
	tenant := "[[tenant]]\nname = \"default\"\ncallback_secrets = [\"" + secretA + "\"]\n"
	env := map[string]string{"ERP_SECRET": whsec, "QYSHOOK_CONFIG": writeFile(t, tenant+`
[[endpoint]]
id = "erp"
url = "https://erp.example.com/hook"
types = ["contract.COMPLETE"]
secrets_env = "ERP_SECRET"
headers = { "X-Source" = "qyshook" }
ordered = true
`)}
	c, err := config.Load(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	eps := c.Delivery.Endpoints
	if len(eps) != 1 || eps[0].ID != "erp" || eps[0].Tenant != "default" || !eps[0].Ordered || len(eps[0].Secrets) != 1 ||
		eps[0].Secrets[0].Reveal() != whsec || eps[0].Headers["X-Source"] != "qyshook" {
		t.Fatalf("endpoints: %+v", eps)
	}
	for name, tc := range map[string]struct{ endpoint, want string }{
		"private":   {"id = \"a\"\nurl = \"https://10.0.0.5/hook\"\nsecrets = [\"" + whsec + "\"]\n", "private"},
		"bad":       {"id = \"a\"\nurl = \"https://erp.example.com/\"\nsecrets = [\"whsec_!!\"]\n", "secret 1"},
		"none":      {"id = \"a\"\nurl = \"https://erp.example.com/\"\n", "no secret"},
		"bad types": {"id = \"a\"\nurl = \"https://erp.example.com/\"\ntypes = [\"a b\"]\nsecrets = [\"" + whsec + "\"]\n", "fact type"},
	} {
		env := map[string]string{"QYSHOOK_CONFIG": writeFile(t, tenant+"[[endpoint]]\n"+tc.endpoint)}
		_, err := config.Load(getenv(env))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), whsec) {
			t.Errorf("%s: %v, want it to contain %q and no secret", name, err, tc.want)
		}
	}
}

// TestPrivateTenants: a tenant named in QYSHOOK_DELIVERY_ALLOW_PRIVATE_TENANTS
// may declare an endpoint on a private address without allow_private.
func TestPrivateTenants(t *testing.T) {
	file := "[[tenant]]\nname = \"lan\"\ncallback_secrets = [\"" + secretA + "\"]\n" +
		"[[endpoint]]\nid = \"oa\"\ntenant = \"lan\"\nurl = \"https://10.0.0.7/hook\"\nsecrets = [\"" + whsec + "\"]\n"
	env := map[string]string{"QYSHOOK_CONFIG": writeFile(t, file)}
	if _, err := config.Load(getenv(env)); err == nil || !strings.Contains(err.Error(), "private") {
		t.Fatalf("without the tenant allowed: %v", err)
	}
	env["QYSHOOK_DELIVERY_ALLOW_PRIVATE_TENANTS"] = "lan"
	c, err := config.Load(getenv(env))
	if err != nil || len(c.Delivery.Endpoints) != 1 || !c.Delivery.Endpoints[0].AllowPrivate {
		t.Fatalf("with the tenant allowed: %+v %v", c.Delivery.Endpoints, err)
	}
}
