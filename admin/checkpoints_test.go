package admin

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// checkpointRequester stands in for the anchor stage (a stage, which
// this package may not import): each call appends a leaf to a real
// in-memory tree, signs its checkpoint and stores it with a real
// time-stamp; the second call on an unchanged tree creates nothing.
func checkpointRequester(tb testing.TB, cl store.CheckpointLog) func(context.Context) (*store.LogCheckpoint, bool, error) {
	tb.Helper()
	keys, err := checkpoint.New(checkpoint.Options{Origin: "admin.test/log", KeyFile: filepath.Join(tb.TempDir(), "k"), Generate: true})
	if err != nil {
		tb.Fatal(err)
	}
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(r)
	tb.Cleanup(srv.Close)
	client, err := tsa.New(tsa.Options{URLs: []string{srv.URL}})
	if err != nil {
		tb.Fatal(err)
	}
	size := int64(0)
	return func(ctx context.Context) (*store.LogCheckpoint, bool, error) {
		st, err := cl.CheckpointStats(ctx)
		if err != nil {
			return nil, false, err
		}
		if st.Latest != nil && st.Latest.Size == size {
			return st.Latest, false, nil
		}
		size++
		tree := tlog.Tree{N: size, Hash: tlog.RecordHash([]byte{byte(size)})}
		note, err := keys.Sign(tree)
		if err != nil {
			return nil, false, err
		}
		c := store.LogCheckpoint{Size: size, Root: hex.EncodeToString(tree.Hash[:]), Note: note, Origin: keys.Origin(), KeyID: keys.KeyID()}
		if err := cl.AddCheckpoint(ctx, c, nil); err != nil {
			return nil, false, err
		}
		stamp, err := client.Stamp(ctx, srv.URL, note)
		if err != nil {
			return nil, false, err
		}
		if err := cl.AddStamp(ctx, store.LogStamp{Size: size, TSAURL: srv.URL, Token: stamp.Token, GenTime: stamp.Time, Serial: stamp.Serial}); err != nil {
			return nil, false, err
		}
		got, err := cl.Checkpoint(ctx, size)
		return got, true, err
	}
}

// TestCheckpointRoutes: a viewer reads, an operator requests (audited),
// a viewer may not request; the overview shows the last anchored one.
func TestCheckpointRoutes(t *testing.T) {
	f, a := newWriteFixture(t, nil)
	if a.o.Checkpoints == nil || a.o.RequestCheckpoint == nil {
		t.Fatal("the fixture has no checkpoint log or requester")
	}
	var status adminapi.LogStatus
	if st := f.get(t, viewerToken, "/log/status", &status); st != http.StatusOK || status.Latest != nil {
		t.Fatalf("empty status %d %+v", st, status)
	}
	var req adminapi.CheckpointRequested
	if st := f.post(t, viewerToken, "/log/checkpoints", nil, &req); st != http.StatusForbidden {
		t.Fatalf("a viewer requested a checkpoint: %d", st)
	}
	if st := f.post(t, operatorToken, "/log/checkpoints", nil, &req); st != http.StatusCreated || !req.Created ||
		req.Checkpoint == nil || req.Checkpoint.Size != 1 || !req.Checkpoint.Anchored {
		t.Fatalf("request: %d %+v", st, req)
	}
	if st := f.post(t, operatorToken, "/log/checkpoints", nil, &req); st != http.StatusOK || req.Created || req.Checkpoint.Size != 1 {
		t.Fatalf("second request: %d %+v", st, req)
	}
	var page adminapi.Page[adminapi.Checkpoint]
	if st := f.get(t, viewerToken, "/log/checkpoints", &page); st != http.StatusOK || len(page.Items) != 1 ||
		len(page.Items[0].Stamps) != 1 || len(page.Items[0].Stamps[0].Token) == 0 {
		t.Fatalf("list: %d %+v", st, page)
	}
	var ov adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &ov); st != http.StatusOK || ov.Log == nil || ov.Log.LatestAnchored == nil ||
		ov.Log.LatestAnchored.Size != 1 {
		t.Fatalf("overview: %d %+v", st, ov.Log)
	}
	var audit adminapi.Page[adminapi.AuditEntry]
	if st := f.get(t, operatorToken, "/audit", &audit); st != http.StatusOK || len(audit.Items) != 2 ||
		audit.Items[0].Action != "POST /log/checkpoints" || audit.Items[1].Count != 1 {
		t.Fatalf("audit: %d %+v", st, audit.Items)
	}
}
