package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/sqlite"
)

// walSize is the size of path's WAL file (0 when absent).
func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// fill writes n MiB through db's writer in transactions of 64 KiB.
func fill(t *testing.T, db *sqlite.DB, mib int) {
	t.Helper()
	w := sqlstore.Writer(db.DB)
	if _, err := w.Exec(`CREATE TABLE IF NOT EXISTS ckpt_fill (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 4000)
	for range mib * 16 {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for range 16 {
			if _, err := tx.Exec(`INSERT INTO ckpt_fill (b) VALUES (?)`, blob); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCommitsDoNotCheckpoint: the writer's commits never copy the WAL
// back (SQLite's auto-checkpoint would, inline, every 1,000 pages, and
// keep the WAL near 4 MiB); the background checkpoint does, and past
// WALLimit it empties the WAL; Close leaves no WAL behind.
func TestCommitsDoNotCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{CheckpointInterval: time.Hour, WALLimit: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	fill(t, db, 6)
	if n := walSize(t, path); n < 6<<20 {
		t.Fatalf("WAL after 6 MiB of commits with no background checkpoint: %d bytes; the commits checkpointed", n)
	}
	// Under the limit: a PASSIVE checkpoint copies the pages back but
	// leaves the file; the next commit restarts the WAL from its start.
	if err := sqlite.CheckpointOnce(ctx, db); err != nil {
		t.Fatal(err)
	}
	if p, f, _ := sqlite.CheckpointStats(db); p != 1 || f != 0 {
		t.Fatalf("under the limit: %d passive, %d forced checkpoints; want 1, 0", p, f)
	}
	before := walSize(t, path)
	fill(t, db, 1)
	if n := walSize(t, path); n > before {
		t.Fatalf("WAL grew from %d to %d bytes after a checkpoint: not restarted", before, n)
	}
	// Past the limit: TRUNCATE.
	fill(t, db, 10)
	if err := sqlite.CheckpointOnce(ctx, db); err != nil {
		t.Fatal(err)
	}
	if p, f, _ := sqlite.CheckpointStats(db); p != 2 || f != 1 {
		t.Fatalf("past the limit: %d passive, %d forced checkpoints; want 2, 1", p, f)
	}
	if n := walSize(t, path); n != 0 {
		t.Fatalf("WAL after a forced checkpoint: %d bytes, want 0", n)
	}
	fill(t, db, 2)
	err = db.Close()
	db = nil
	if err != nil {
		t.Fatal(err)
	}
	if n := walSize(t, path); n != 0 {
		t.Fatalf("WAL after Close: %d bytes, want none", n)
	}
}

// TestBackgroundCheckpointBoundsWAL: with a short interval and a 1 MiB
// limit the background checkpoint runs by itself, forcing TRUNCATEs, and
// the WAL never holds much more than the limit plus an interval's writes.
func TestBackgroundCheckpointBoundsWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{CheckpointInterval: 5 * time.Millisecond, WALLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; ; i++ {
		fill(t, db, 1)
		if _, f, _ := sqlite.CheckpointStats(db); f > 0 {
			break
		}
		if i == 1000 {
			t.Fatal("no forced checkpoint after 1,000 MiB written past a 1 MiB limit")
		}
	}
	if p, _, _ := sqlite.CheckpointStats(db); p == 0 {
		t.Fatal("no PASSIVE checkpoint ran")
	}
}

func TestCheckpointOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []sqlite.Options{{CheckpointInterval: -time.Second}, {WALLimit: 1000}} {
		if db, err := sqlite.Open(context.Background(), filepath.Join(dir, "x.db"), o); err == nil {
			db.Close()
			t.Errorf("%+v: opened", o)
		}
	}
}

// TestPinnedReaderDoesNotStallWrites: a reader holding an old snapshot
// (an operator's verify --log, an evidence export) while the WAL is past
// its limit must not stop the writer. Before, the checkpointer ran a
// TRUNCATE that could never finish, one after the other, holding the
// WAL's write lock almost all the time: every commit waited out its busy
// timeout and failed. A writer with no busy timeout at all must commit.
func TestPinnedReaderDoesNotStallWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{CheckpointInterval: 5 * time.Millisecond, WALLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fill(t, db, 2)
	reader, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	rtx, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback()
	var n int
	if err := rtx.QueryRow(`SELECT COUNT(*) FROM ckpt_fill`).Scan(&n); err != nil { // the snapshot is taken
		t.Fatal(err)
	}
	fill(t, db, 2)
	before, _, _ := sqlite.CheckpointStats(db)
	for p, _, _ := sqlite.CheckpointStats(db); p < before+5; p, _, _ = sqlite.CheckpointStats(db) {
		time.Sleep(5 * time.Millisecond)
	}
	w, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 20 {
		if _, err := w.Exec(`INSERT INTO ckpt_fill (b) VALUES (x'00')`); err != nil {
			t.Fatalf("write %d beside a pinned reader: %v", i, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCheckpointBusyTimeout: the checkpoint connection waits at most
// checkpointBusy (1 s) for the lock, not the writer's 10 s (a second
// busy_timeout pragma on the same DSN lost to the first).
func TestCheckpointBusyTimeout(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), sqlite.Options{CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := sqlite.CheckpointBusyTimeout(t, db); got != 1000 {
		t.Fatalf("the checkpoint connection's busy_timeout is %d ms, want 1000", got)
	}
}
