package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// TestConfigEndpointRefusesUndoneChanges: an endpoint declared in the
// config file is owned by it: a secret rotated through the API, a delete,
// or an enable of one the file declares disabled would be undone by the
// next start (SyncConfigEndpoints), so the API refuses them with a 409
// naming the config file; disabling stays available. Viewers see its URL's
// query redacted, operators whole.
func TestConfigEndpointRefusesUndoneChanges(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	es := f.ledger.(store.EndpointStore)
	ctx := context.Background()
	now := time.Now()
	ep := store.Endpoint{ID: "erp", Tenant: "default", URL: "https://erp.example.com/hook?token=S3CRET",
		Secrets:     []store.EndpointSecret{{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: now}},
		Concurrency: 4, Enabled: true, Source: store.SourceConfig, CreatedAt: now, UpdatedAt: now}
	if err := es.SaveEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	off := ep
	off.ID, off.Enabled, off.DisabledReason, off.DisabledAt = "erp_off", false, store.ConfigDisabledReason, &now
	if err := es.SaveEndpoint(ctx, off); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/endpoints/erp/rotate-secret"},
		{http.MethodDelete, "/endpoints/erp"},
		{http.MethodPost, "/endpoints/erp_off/enable"},
	} {
		st, raw := f.send(t, c.method, operatorToken, c.path, nil)
		if st != http.StatusConflict || !strings.Contains(string(raw), "config file") {
			t.Errorf("%s %s on a config endpoint: %d %s", c.method, c.path, st, raw)
		}
	}
	got, err := es.Endpoint(ctx, "erp")
	if err != nil || len(got.Secrets) != 1 {
		t.Fatalf("the config endpoint changed: %+v %v", got, err)
	}
	if st, raw := f.send(t, http.MethodPost, operatorToken, "/endpoints/erp/disable", nil); st != 200 {
		t.Fatalf("disable a config endpoint: %d %s", st, raw)
	}
	_, raw := f.send(t, http.MethodGet, viewerToken, "/endpoints/erp", nil)
	if strings.Contains(string(raw), "S3CRET") || !strings.Contains(string(raw), "hook?token=REDACTED") {
		t.Fatalf("a viewer sees the URL's query: %s", raw)
	}
	if _, raw := f.send(t, http.MethodGet, operatorToken, "/endpoints", nil); !strings.Contains(string(raw), "token=S3CRET") {
		t.Fatalf("an operator does not see the URL: %s", raw)
	}
}

// TestConfigRemovedEndpointDeletes: an endpoint removed from the config
// file (marked config-removed by the sync) can be deleted through the API.
func TestConfigRemovedEndpointDeletes(t *testing.T) {
	f, _ := newWriteFixture(t, nil)
	es := f.ledger.(store.EndpointStore)
	ctx := context.Background()
	now := time.Now()
	ep := store.Endpoint{ID: "gone", Tenant: "default", URL: "https://erp.example.com/hook", Concurrency: 4,
		Source: store.SourceConfigRemoved, DisabledReason: store.ConfigRemovedReason, DisabledAt: &now,
		CreatedAt: now, UpdatedAt: now}
	if err := es.SaveEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if st, raw := f.send(t, http.MethodDelete, operatorToken, "/endpoints/gone", nil); st != http.StatusOK {
		t.Fatalf("delete an endpoint removed from the config: %d %s", st, raw)
	}
	if _, err := es.Endpoint(ctx, "gone"); err == nil {
		t.Fatal("still there")
	}
}
