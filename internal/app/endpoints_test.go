package app_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestSyncConfigEndpoints: a declared endpoint is made, then updated; one
// the stage disabled (410) stays disabled; declared disabled, it is, and
// declared enabled again, it is.
func TestSyncConfigEndpoints(t *testing.T) {
	ctx := context.Background()
	st := testdb.Open(t, testdb.SQLite).(store.EndpointStore)
	decl := config.Endpoint{ID: "erp", Tenant: "default", URL: "https://erp.example.com/hook",
		Secrets: []config.Secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
	sync := func(c config.Endpoint) *store.Endpoint {
		t.Helper()
		if err := app.SyncConfigEndpoints(ctx, st, []config.Endpoint{c}); err != nil {
			t.Fatal(err)
		}
		ep, err := st.Endpoint(ctx, "erp")
		if err != nil {
			t.Fatal(err)
		}
		return ep
	}
	if ep := sync(decl); !ep.Enabled || ep.Source != "config" || ep.Concurrency == 0 || len(ep.Secrets) != 1 {
		t.Fatalf("made: %+v", ep)
	}
	decl.URL = "https://erp.example.com/v2/hook"
	if ep := sync(decl); ep.URL != decl.URL {
		t.Fatalf("not updated: %s", ep.URL)
	}
	if _, err := st.SetEndpointEnabled(ctx, "erp", false, "the endpoint answered 410 Gone"); err != nil {
		t.Fatal(err)
	}
	if ep := sync(decl); ep.Enabled || ep.DisabledReason != "the endpoint answered 410 Gone" {
		t.Fatalf("a restart enabled an endpoint the stage disabled: %+v", ep)
	}
	if _, err := st.SetEndpointEnabled(ctx, "erp", true, ""); err != nil {
		t.Fatal(err)
	}
	decl.Disabled = true
	if ep := sync(decl); ep.Enabled {
		t.Fatal("declared disabled, still enabled")
	}
	decl.Disabled = false
	if ep := sync(decl); !ep.Enabled {
		t.Fatal("declared enabled again, still disabled")
	}
}
