package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

// TestSyncConfigEndpointsRemoved: an endpoint dropped from the config file
// is disabled and marked "config-removed" at the next sync, its attempts
// kept; the API may then delete it. Declared again, it is the config's
// again and enabled. (Before, it stayed "config" forever: the API refused
// to delete it and nothing else could.)
func TestSyncConfigEndpointsRemoved(t *testing.T) {
	ctx := context.Background()
	st := testdb.Open(t, testdb.SQLite).(store.EndpointStore)
	decl := []config.Endpoint{
		{ID: "erp", Tenant: "default", URL: "https://erp.example.com/hook", Secrets: []config.Secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		{ID: "crm", Tenant: "default", URL: "https://crm.example.com/hook", Secrets: []config.Secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
	}
	if err := app.SyncConfigEndpoints(ctx, st, decl); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	api := store.Endpoint{ID: "mine", Tenant: "default", URL: "https://mine.example.com/hook", Concurrency: 4,
		Enabled: true, Source: store.SourceAPI, CreatedAt: now, UpdatedAt: now}
	if err := st.SaveEndpoint(ctx, api); err != nil {
		t.Fatal(err)
	}
	if err := st.AddEndpointAttempts(ctx, store.EndpointAttempt{EndpointID: "crm", FactID: "f1", Attempt: 1, At: now, Status: 500}); err != nil {
		t.Fatal(err)
	}
	if err := app.SyncConfigEndpoints(ctx, st, decl[:1]); err != nil {
		t.Fatal(err)
	}
	crm, err := st.Endpoint(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if crm.Enabled || crm.Source != store.SourceConfigRemoved || crm.DisabledReason != store.ConfigRemovedReason {
		t.Fatalf("an endpoint removed from the config: enabled %v, source %q, reason %q", crm.Enabled, crm.Source, crm.DisabledReason)
	}
	if as, err := st.EndpointAttempts(ctx, store.EndpointAttemptFilter{EndpointID: "crm"}); err != nil || len(as) != 1 {
		t.Fatalf("its attempts: %d %v", len(as), err)
	}
	for _, id := range []string{"erp", "mine"} {
		if ep, err := st.Endpoint(ctx, id); err != nil || !ep.Enabled {
			t.Fatalf("%s changed by the sync: %+v %v", id, ep, err)
		}
	}
	// A second sync changes nothing (the disable time stays).
	if err := app.SyncConfigEndpoints(ctx, st, decl[:1]); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.Endpoint(ctx, "crm"); again.DisabledAt == nil || !again.DisabledAt.Equal(*crm.DisabledAt) {
		t.Fatalf("disabled again: %v then %v", crm.DisabledAt, again.DisabledAt)
	}
	if err := app.SyncConfigEndpoints(ctx, st, decl); err != nil {
		t.Fatal(err)
	}
	if crm, _ = st.Endpoint(ctx, "crm"); !crm.Enabled || crm.Source != store.SourceConfig {
		t.Fatalf("declared again: enabled %v, source %q", crm.Enabled, crm.Source)
	}
}

// TestSyncConfigEndpointsRefusesTakeover: an endpoint made through the API
// whose id the config file later declares is not taken over (its secrets
// replaced by the file's, so every receiver checking the API-issued secret
// would start refusing): the sync fails naming the id, and changes nothing
// at all, not even the endpoints the file no longer declares. (Before, the
// file's endpoint replaced the API's silently.)
func TestSyncConfigEndpointsRefusesTakeover(t *testing.T) {
	ctx := context.Background()
	st := testdb.Open(t, testdb.SQLite).(store.EndpointStore)
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	erp := config.Endpoint{ID: "erp", Tenant: "default", URL: "https://erp.example.com/hook", Secrets: []config.Secret{config.Secret(secret)}}
	if err := app.SyncConfigEndpoints(ctx, st, []config.Endpoint{erp}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	api := store.Endpoint{ID: "mine", Tenant: "default", URL: "https://mine.example.com/hook", Concurrency: 4,
		Enabled: true, Source: store.SourceAPI, CreatedAt: now, UpdatedAt: now,
		Secrets: []store.EndpointSecret{{Secret: "whsec_QVBJLWlzc3VlZC1zZWNyZXQtMDEyMzQ1Njc4OQ==", CreatedAt: now}}}
	if err := st.SaveEndpoint(ctx, api); err != nil {
		t.Fatal(err)
	}
	decl := []config.Endpoint{
		{ID: "crm", Tenant: "default", URL: "https://crm.example.com/hook", Secrets: []config.Secret{config.Secret(secret)}},
		{ID: "mine", Tenant: "default", URL: "https://file.example.com/hook", Secrets: []config.Secret{config.Secret(secret)}},
	}
	err := app.SyncConfigEndpoints(ctx, st, decl)
	if err == nil {
		t.Fatal("an API endpoint taken over by the config file")
	}
	if !strings.Contains(err.Error(), `"mine"`) || !strings.Contains(err.Error(), "API") {
		t.Errorf("the error does not name the endpoint and why: %v", err)
	}
	mine, err := st.Endpoint(ctx, "mine")
	if err != nil {
		t.Fatal(err)
	}
	if mine.Source != store.SourceAPI || mine.URL != api.URL || len(mine.Secrets) != 1 || mine.Secrets[0].Secret != api.Secrets[0].Secret || !mine.Enabled {
		t.Fatalf("the API endpoint changed: %+v", mine)
	}
	if e, err := st.Endpoint(ctx, "erp"); err != nil || !e.Enabled || e.Source != store.SourceConfig {
		t.Fatalf("a refused sync disabled the endpoint the file no longer declares: %+v %v", e, err)
	}
	if _, err := st.Endpoint(ctx, "crm"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused sync made a declared endpoint: %v", err)
	}
}
