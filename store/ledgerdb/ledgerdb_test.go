package ledgerdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		url, dataDir string
		path, pg     string
		sync         string
	}{
		{url: "", dataDir: "/data", path: "/data/ledger.db"},
		{url: "sqlite://rel/ledger.db", path: "rel/ledger.db"},
		{url: "sqlite:///abs/ledger.db", path: "/abs/ledger.db"},
		{url: "sqlite://x.db?synchronous=normal", path: "x.db", sync: "normal"},
		{url: "postgres://u:p@h/db", pg: "postgres://u:p@h/db"},
		{url: "postgresql://h/db?sslmode=disable", pg: "postgresql://h/db?sslmode=disable"},
	}
	for _, tc := range cases {
		got, err := parse(tc.url, tc.dataDir)
		if err != nil {
			t.Errorf("parse(%q): %v", tc.url, err)
			continue
		}
		if got.sqlitePath != filepath.FromSlash(tc.path) || got.pgURL != tc.pg || got.sqliteOpts.Synchronous != tc.sync {
			t.Errorf("parse(%q) = %+v", tc.url, got)
		}
	}
	for _, bad := range []string{"mysql://u:secret@h/db", "ledger.db", "sqlite://", "sqlite://x.db?mode=ro"} {
		_, err := parse(bad, "")
		if err == nil {
			t.Errorf("parse(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the url: %v", err)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, "", filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", DefaultFile)); err != nil {
		t.Errorf("default file: %v", err)
	}
	t.Chdir(dir)
	l, err = Open(ctx, "sqlite://rel/l.db", "ignored")
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if _, err := os.Stat(filepath.Join(dir, "rel", "l.db")); err != nil {
		t.Errorf("relative file: %v", err)
	}
	if v, dirty, err := Version("sqlite://rel/l.db", ""); err != nil || v == 0 || dirty {
		t.Errorf("Version = %d %v %v", v, dirty, err)
	}
	if err := MigrateDown("sqlite://rel/l.db", "", 0); err != nil {
		t.Error(err)
	}
	if err := MigrateUp("sqlite://rel/l.db", ""); err != nil {
		t.Error(err)
	}
	if _, err := Open(ctx, "redis://x", ""); err == nil || !strings.Contains(err.Error(), "unknown database scheme") {
		t.Errorf("unknown scheme err = %v", err)
	}
}

func TestOpenFailureReturnsNil(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, u := range []string{
		"postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2",
		"sqlite://" + t.TempDir() + "/not-a-dir/\x00/ledger.db",
	} {
		l, err := Open(ctx, u, t.TempDir())
		if err == nil {
			t.Fatalf("Open(%q) succeeded", u)
		}
		if l != nil {
			t.Fatalf("Open(%q) returned a non-nil ledger (%T) with its error: callers would Close it", u, l)
		}
	}
}

// TestOpenReadOnly: a read-only open of a missing SQLite ledger names the
// path and creates nothing; of an existing one it reads beside a writer.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	if l, err := OpenReadOnly(ctx, "", dir); err == nil || l != nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("missing ledger: %v %v, want an error naming %s", l, err, path)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a read-only open created the ledger: %v", err)
	}
	w, err := Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := OpenReadOnly(ctx, "", dir)
	if err != nil {
		t.Fatalf("read-only beside a writer: %v", err)
	}
	defer r.Close()
	if _, err := r.DeadLetters(ctx, 1); err != nil {
		t.Fatal(err)
	}
}
