package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/postgres"
	"github.com/qyshook/qyshook/store/storetest"
)

// TestDSNEnv names the variable holding the PostgreSQL URL for tests.
const TestDSNEnv = "QYSHOOK_TEST_POSTGRES_DSN"

// freshSchema creates a schema of its own for the test, dropped at
// cleanup, and returns a URL whose search_path selects it.
func freshSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(TestDSNEnv)
	if dsn == "" {
		t.Skip(TestDSNEnv + " not set")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "qyshook_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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
	return db
}

func TestLedger(t *testing.T) {
	storetest.Run(t, open)
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
	if v, _, err := postgres.Version(u); err != nil || v != 0 {
		t.Fatalf("version after down = %d, %v", v, err)
	}
}
