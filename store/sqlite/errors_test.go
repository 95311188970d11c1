package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/store/sqlite"
)

// TestDiskFullAndRejected provokes real SQLite errors: SQLITE_FULL (the
// database at its max_page_count, as on a full disk) is disk full; a NOT
// NULL violation is rejected; a unique conflict, which the ledger expects,
// is neither.
func TestDiskFullAndRejected(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{`CREATE TABLE t (k text PRIMARY KEY, v text NOT NULL)`, `PRAGMA max_page_count = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		_, full = db.Exec(`INSERT INTO t VALUES (?, ?)`, strings.Repeat("k", 10)+string(rune('a'+i%26))+strings.Repeat("x", i), strings.Repeat("v", 2000))
	}
	if full == nil || !sqlite.IsDiskFull(full) || sqlite.IsRejected(full) {
		t.Fatalf("insert into a full database = %v, want disk full", full)
	}
	if _, err := db.Exec(`PRAGMA max_page_count = 100000`); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO t (k) VALUES ('no value')`)
	if err == nil || !sqlite.IsRejected(err) || sqlite.IsDiskFull(err) || sqlite.IsTransient(err) {
		t.Fatalf("NOT NULL violation = %v, want rejected", err)
	}
	if _, err := db.Exec(`INSERT INTO t VALUES ('dup', 'v')`); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO t VALUES ('dup', 'v')`)
	if err == nil || sqlite.IsRejected(err) || sqlite.IsDiskFull(err) {
		t.Fatalf("primary-key conflict = %v, want neither rejected nor disk full", err)
	}
}
