package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/anchor"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// TestCheckpointsThroughTheAPI: `checkpoints request|status|list` go
// through the admin API to a real anchor stage (a real in-memory tree,
// a real authority); a viewer may read but not request.
func TestCheckpointsThroughTheAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, l := opsLedger(t, testdb.SQLite)
	cl := l.(store.CheckpointLog)
	keys, err := checkpoint.New(checkpoint.Options{Origin: "cli.test/log", KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tsaSrv := httptest.NewServer(r)
	defer tsaSrv.Close()
	client, err := tsa.New(tsa.Options{URLs: []string{tsaSrv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	tl := &treeLog{}
	a, err := anchor.New(anchor.Options{Head: tl.LogHead, Keys: keys, TSA: client, Ledger: cl, Tenants: []string{"default"},
		Interval: time.Hour, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	api, err := admin.New(admin.Options{Tokens: []admin.Token{{Secret: opsOperatorToken, Role: admin.RoleOperator},
		{Secret: opsViewerToken, Role: admin.RoleViewer}}, Ledger: l, RequestCheckpoint: a.Request})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer api.Close()
	vars, _ := clientVars(t, srv.URL, opsOperatorToken)
	viewer, _ := clientVars(t, srv.URL, opsViewerToken)

	if r := mustOpsRun(t, ExitOK, vars, "checkpoints", "request"); !strings.Contains(r.stdout, "the receipt log is empty") {
		t.Fatalf("empty log: %s", r)
	}
	for i := range 3 {
		if err := tl.append("leaf " + string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if r := mustOpsRun(t, ExitOK, vars, "checkpoints", "request"); !strings.Contains(r.stdout, "signed: 3 leaves") &&
		!strings.Contains(r.stdout, "the newest: 3 leaves") {
		t.Fatalf("request: %s", r)
	}
	opsEventually(t, "the checkpoint anchored", func() bool {
		var st adminapi.LogStatus
		mustOpsJSON(t, mustOpsRun(t, ExitOK, viewer, "checkpoints", "status", "--json"), &st)
		return st.LatestAnchored != nil && st.LatestAnchored.Size == 3 && st.Unanchored == 0
	})
	if r := mustOpsRun(t, ExitOK, viewer, "checkpoints", "status"); !strings.Contains(r.stdout, "Newest anchored") ||
		!strings.Contains(r.stdout, "3 leaves") {
		t.Fatalf("status: %s", r)
	}
	var list []adminapi.Checkpoint
	mustOpsJSON(t, mustOpsRun(t, ExitOK, viewer, "checkpoints", "list", "--json"), &list)
	if len(list) != 1 || !list[0].Anchored || list[0].Stamps[0].TSAURL != tsaSrv.URL {
		t.Fatalf("list: %+v", list)
	}
	// Roots are shown in base64, as log head, log proof and the signed note
	// write them (the API's checkpoint root is hex).
	raw, err := hex.DecodeString(list[0].Root)
	if err != nil || len(raw) != 32 {
		t.Fatalf("the API's checkpoint root %q: %v", list[0].Root, err)
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	for _, args := range [][]string{{"checkpoints", "status"}, {"checkpoints", "list"}} {
		r := mustOpsRun(t, ExitOK, viewer, args...)
		if !strings.Contains(r.stdout, b64) || strings.Contains(r.stdout, list[0].Root) {
			t.Errorf("%s: want the root in base64 (%s), not hex:\n%s", strings.Join(args, " "), b64, r.stdout)
		}
	}
	if r := opsRun(t, viewer, "checkpoints", "request"); r.code == ExitOK {
		t.Fatalf("a viewer requested a checkpoint: %s", r)
	}
	if r := opsRun(t, vars, "checkpoints", "status", "extra"); r.code != ExitUsage {
		t.Fatalf("a stray argument: %s", r)
	}
}
