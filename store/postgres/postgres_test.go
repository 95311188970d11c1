package postgres_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/postgres"
	"github.com/qyshook/qyshook/store/storetest"
)

// freshSchema is a URL of a schema of the test's own, dropped at cleanup
// (skips without QYSHOOK_TEST_POSTGRES_DSN).
func freshSchema(t *testing.T) string { return testdb.URL(t, testdb.Postgres) }

func open(t *testing.T) store.Ledger {
	t.Helper()
	db, err := postgres.Open(context.Background(), freshSchema(t))
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
		_, err := sqlstore.Writer(l.(*postgres.DB).DB).Exec(query)
		return err
	})
}

func TestMigrations(t *testing.T) {
	u := freshSchema(t)
	if err := postgres.MigrateUp(u); err != nil {
		t.Fatal(err)
	}
	if err := postgres.MigrateUp(u); err != nil {
		t.Fatalf("second up: %v", err)
	}
	v, dirty, err := postgres.Version(u)
	if err != nil || v == 0 || dirty {
		t.Fatalf("version = %d dirty=%v, %v", v, dirty, err)
	}
	if err := postgres.MigrateDown(u, 1); err != nil {
		t.Fatal(err)
	}
	// Versions need not be contiguous (golang-migrate steps to the
	// previous file): down 1 lands below v, not necessarily on v-1.
	if got, _, err := postgres.Version(u); err != nil || got >= v || got == 0 {
		t.Fatalf("version after down 1 = %d, %v; want the version before %d", got, err, v)
	}
	if err := postgres.MigrateDown(u, 0); err != nil {
		t.Fatal(err)
	}
	if got, _, err := postgres.Version(u); err != nil || got != 0 {
		t.Fatalf("version after down all = %d, %v", got, err)
	}
}

// TestBatchPaths: ApplyContracts' set-based path does what one change at
// a time does.
func TestBatchPaths(t *testing.T) {
	storetest.RunBatchPaths(t, func(t *testing.T, oneByOne bool) store.Ledger {
		l := open(t)
		if oneByOne {
			sqlstore.OneByOne(l.(*postgres.DB).DB)
		}
		return l
	}, func(l store.Ledger) int64 { return sqlstore.Fallbacks(l.(*postgres.DB).DB) })
}
