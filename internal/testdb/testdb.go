// Package testdb opens real ledgers for tests: a SQLite file in a
// temporary directory always, and PostgreSQL when QYSHOOK_TEST_POSTGRES_DSN
// is set, each PostgreSQL ledger in a fresh schema dropped afterwards so
// parallel tests and runs never share tables.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

// PostgresDSN returns QYSHOOK_TEST_POSTGRES_DSN.
func PostgresDSN() string { return os.Getenv("QYSHOOK_TEST_POSTGRES_DSN") }

// Kind names a database for subtests.
type Kind string

// The kinds.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Kinds returns the databases available: SQLite, and PostgreSQL when the
// DSN is set.
func Kinds() []Kind {
	if PostgresDSN() != "" {
		return []Kind{SQLite, Postgres}
	}
	return []Kind{SQLite}
}

// URL returns a ledger URL of kind for one test (a new SQLite file, or a
// new PostgreSQL schema dropped at cleanup). It skips the test for
// PostgreSQL without a DSN.
func URL(tb testing.TB, kind Kind) string {
	tb.Helper()
	if kind == SQLite {
		return "sqlite://" + filepath.Join(tb.TempDir(), "ledger.db")
	}
	dsn := PostgresDSN()
	if dsn == "" {
		tb.Skip("QYSHOOK_TEST_POSTGRES_DSN not set")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "qyshook_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		tb.Fatalf("testdb: create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a fresh ledger of kind, closed at cleanup.
func Open(tb testing.TB, kind Kind) store.Ledger {
	tb.Helper()
	return OpenURL(tb, URL(tb, kind))
}

// OpenURL opens the ledger at u, closed at cleanup.
func OpenURL(tb testing.TB, u string) store.Ledger {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := ledgerdb.Open(ctx, u, tb.TempDir())
	if err != nil {
		tb.Fatalf("testdb: open %s ledger: %v", kindOf(u), err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

func kindOf(u string) string {
	if len(u) >= 6 && u[:6] == "sqlite" {
		return "sqlite"
	}
	return "postgres"
}
