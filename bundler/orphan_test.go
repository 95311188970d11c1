package bundler

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestFailedRecordLeavesNoZip: while the ledger refuses to record a
// bundle (here a trigger makes the insert fail), each retry writes a zip
// of its own name; once the version is recorded they are removed and
// only the recorded file stays, and the gauge counts them meanwhile.
// Before, every failed retry left its zip behind for good.
func TestFailedRecordLeavesNoZip(t *testing.T) {
	ctx := context.Background()
	u := testdb.URL(t, testdb.SQLite)
	l := testdb.OpenURL(t, u)
	applyEnded(t, l, "c1", "REJECTED")
	db, err := sql.Open("sqlite", strings.TrimPrefix(u, "sqlite://")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON evidence_bundles BEGIN SELECT RAISE(ABORT, 'the ledger refuses'); END`); err != nil {
		t.Fatal(err)
	}
	keys := signHead(t, l, time.Now())
	dir := t.TempDir()
	now := time.Now()
	reg := prometheus.NewRegistry()
	b, err := New(Options{Ledger: l.(Ledger), DataDir: dir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey(),
		Interval: time.Minute, Now: func() time.Time { return now }, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	zips := func() []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(dir, "evidence", "default", "c1", "*.zip"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for i := 1; i <= 2; i++ {
		if r, err := b.Pass(ctx); err != nil || r.Failed != 1 {
			t.Fatalf("pass %d while the ledger refuses: %+v %v", i, r, err)
		}
		now = now.Add(time.Hour)            // past the hold
		time.Sleep(1100 * time.Millisecond) // another second: other bytes, another name
		if n := len(zips()); n != i {
			t.Fatalf("after %d failed records: %d zips", i, n)
		}
	}
	if got := testutil.ToFloat64(b.m.orphans); got != 2 {
		t.Errorf("qyshook_evidence_orphan_zips = %v, want 2", got)
	}
	if _, err := db.Exec(`DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	if r, err := b.Pass(ctx); err != nil || r.Built != 1 {
		t.Fatalf("pass once the ledger records: %+v %v", r, err)
	}
	rec, err := l.(store.EvidenceStore).Bundle(ctx, "default", "c1", 1)
	if err != nil {
		t.Fatal(err)
	}
	left := zips()
	if len(left) != 1 || left[0] != filepath.Join(dir, filepath.FromSlash(rec.Path)) {
		t.Fatalf("zips left %v, want only the recorded %s", left, rec.Path)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rec.Path))); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(b.m.orphans); got != 0 {
		t.Errorf("qyshook_evidence_orphan_zips = %v after the sweep, want 0", got)
	}
}
