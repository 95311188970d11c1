package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/qyshook/qyshook/store"
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
	return db
}

func TestLedger(t *testing.T) {
	storetest.Run(t, open)
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
