package admin

import (
	"github.com/qyshook/qyshook/adminapi"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
)

// TestOverviewShowsSyncMode: GET /overview carries the callback store's
// sync mode in force (Options.NATSSync) as nats_sync, which the console's
// overview shows.
func TestOverviewShowsSyncMode(t *testing.T) {
	f := &fixture{ledger: testdb.Open(t, testdb.SQLite), nats: natstest.New(t)}
	a, err := New(Options{Tokens: []Token{{Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, JS: f.nats.JS, Names: f.nats.Names, NATSSync: "grouped; client port for subscribers only"})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	var ov adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &ov); st != http.StatusOK || ov.NATSSync != "grouped; client port for subscribers only" {
		t.Fatalf("overview %d nats_sync %q", st, ov.NATSSync)
	}
}
