package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/sqlite"
	"github.com/qyshook/qyshook/store/storetest"
)

func open(t *testing.T) store.Ledger {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dir with space", "ledger.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	storetest.VerifyLogAtCleanup(t, db)
	return db
}

func TestLedger(t *testing.T) {
	storetest.Run(t, open)
}

func TestEvidence(t *testing.T) {
	storetest.RunEvidence(t, open, func(l store.Ledger, query string) error {
		_, err := sqlstore.Writer(l.(*sqlite.DB).DB).Exec(query)
		return err
	})
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	if err := sqlite.MigrateUp(path); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.MigrateUp(path); err != nil {
		t.Fatalf("second up: %v", err)
	}
	v, dirty, err := sqlite.Version(path)
	if err != nil || v == 0 || dirty {
		t.Fatalf("version = %d dirty=%v, %v", v, dirty, err)
	}
	if err := sqlite.MigrateDown(path, 0); err != nil {
		t.Fatal(err)
	}
	if v, _, err := sqlite.Version(path); err != nil || v != 0 {
		t.Fatalf("version after down = %d, %v", v, err)
	}
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatalf("reopen after down: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: "OFF"}); err == nil {
		t.Error("synchronous=OFF accepted")
	}
}

// TestConcurrentFirstOpen: several openers (separate processes in
// production: serve and an operator command) migrate a new file at once;
// none sees the schema half-migrated ("dirty").
func TestConcurrentFirstOpen(t *testing.T) {
	for round := 0; round < 5; round++ {
		path := filepath.Join(t.TempDir(), "ledger.db")
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
				if err == nil {
					err = db.Close()
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// TestBatchPaths: ApplyContracts' set-based path does what one change at
// a time does.
func TestBatchPaths(t *testing.T) {
	storetest.RunBatchPaths(t, func(t *testing.T, oneByOne bool) store.Ledger {
		l := open(t)
		if oneByOne {
			sqlstore.OneByOne(l.(*sqlite.DB).DB)
		}
		return l
	}, func(l store.Ledger) int64 { return sqlstore.Fallbacks(l.(*sqlite.DB).DB) })
}

// TestCacheSize: the writer connection gets Options.CacheSize as its page
// cache (DefaultCacheSize when unset; SQLite's own 2 MB was too small for
// a big ledger's random-keyed indexes), the read-only pool keeps SQLite's
// default, and a cache below 1 MiB is refused.
func TestCacheSize(t *testing.T) {
	ctx := context.Background()
	sqliteDefault := int64(-2000) // SQLite's compiled-in default, KiB
	for _, tc := range []struct {
		set  int64
		want int64 // PRAGMA cache_size of the writer, -KiB
	}{
		{0, -sqlite.DefaultCacheSize / 1024},
		{1 << 20, -1024},
		{256 << 20, -256 * 1024},
	} {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), sqlite.Options{CacheSize: tc.set})
		if err != nil {
			t.Fatal(err)
		}
		w, r, err := sqlite.WriterCacheKiB(ctx, db)
		if err != nil || w != tc.want || r != sqliteDefault {
			t.Errorf("CacheSize %d: writer cache_size %d, reader %d, %v; want %d and %d", tc.set, w, r, err, tc.want, sqliteDefault)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []int64{-1, 1, 1<<20 - 1} {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), sqlite.Options{CacheSize: bad})
		if err == nil {
			db.Close()
			t.Errorf("CacheSize %d accepted", bad)
		}
	}
}
