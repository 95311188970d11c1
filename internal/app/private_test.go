package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

// TestDoctorPrivate: doctor says when the data dir or the ledger file is
// readable by others (issue 21: 0755 and 0644 went unnoticed), and is
// green when they are private.
func TestDoctorPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ledger.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{DataDir: dir, DB: config.Secret("sqlite://" + db)}
	if f := DoctorPrivate(cfg); len(f) != 1 || !f[0].OK {
		t.Errorf("private: %+v", f)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	f := DoctorPrivate(cfg)
	if len(f) != 2 || f[0].OK || f[1].OK || !strings.Contains(f[0].Fix, "chmod 700 "+dir) || !strings.Contains(f[1].Fix, "chmod 600 "+db) {
		t.Errorf("open to others: %+v", f)
	}
}

// TestLedgerCreatedPrivate: a new SQLite ledger's directory is 0700 and
// its file 0600 whatever the umask lets through (failed before: 0750 and
// 0644).
func TestLedgerCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	db := filepath.Join(dir, "ledger.db")
	if err := ledgerdb.MigrateUp("sqlite://"+db, dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, db: 0o600} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %#o", p, st.Mode().Perm(), err, want)
		}
	}
	cfg := &config.Config{DataDir: dir, DB: config.Secret("sqlite://" + db)}
	if f := DoctorPrivate(cfg); len(f) != 1 || !f[0].OK {
		t.Errorf("doctor on a new ledger: %+v", f)
	}
}
