package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
)

func TestMigrateCommand(t *testing.T) {
	latest := latestMigration()
	if latest == 0 {
		t.Fatal("no embedded migrations")
	}
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			u := testdb.URL(t, kind)
			vars := opsVars(t, u)
			version := func() schemaVersion {
				t.Helper()
				var sv schemaVersion
				mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "migrate", "version", "--json"), &sv)
				return sv
			}

			if sv := version(); sv.Version != 0 || sv.Latest != latest || sv.Dirty || sv.Database != string(kind) {
				t.Errorf("fresh database: %+v", sv)
			}
			if kind == testdb.SQLite {
				if _, err := os.Stat(strings.TrimPrefix(u, "sqlite://")); err == nil {
					t.Error("migrate version created the SQLite file")
				}
				r := mustOpsRun(t, ExitOK, vars, "migrate", "version")
				if !strings.Contains(r.stdout, "no database file yet") {
					t.Errorf("version of a missing file:\n%s", r)
				}
				mustOpsRun(t, ExitUnavailable, vars, "migrate", "down", "1")
			}

			r := mustOpsRun(t, ExitOK, vars, "migrate", "up")
			if !strings.Contains(r.stdout, "up to date") {
				t.Errorf("migrate up:\n%s", r)
			}
			if sv := version(); sv.Version != latest || !sv.Exists {
				t.Errorf("after up: %+v", sv)
			}
			mustOpsRun(t, ExitOK, vars, "migrate", "up") // no change is success

			for _, args := range [][]string{{"down"}, {"down", "--all"}, {"down", "0"}, {"down", "x"},
				{"down", "1", "--all", "--yes"}, {"version", "extra"}, {"sideways"}} {
				r := mustOpsRun(t, ExitUsage, vars, append([]string{"migrate"}, args...)...)
				if !strings.Contains(r.stderr, "Usage") {
					t.Errorf("migrate %v: no usage text:\n%s", args, r)
				}
			}
			if sv := version(); sv.Version != latest {
				t.Errorf("refused downs changed the schema: %+v", sv)
			}

			mustOpsRun(t, ExitOK, vars, "migrate", "down", "1")
			// The previous migration: versions need not be contiguous.
			if sv := version(); sv.Version >= latest || sv.Version == 0 {
				t.Errorf("after down 1: %+v", sv)
			}
			mustOpsRun(t, ExitOK, vars, "migrate", "up")
			mustOpsRun(t, ExitOK, vars, "migrate", "down", "--all", "--yes")
			if sv := version(); sv.Version != 0 {
				t.Errorf("after down --all: %+v", sv)
			}
		})
	}
}

func TestMigrateCommandUnavailable(t *testing.T) {
	vars := opsVars(t, "postgres://postgres:s3cretpw@127.0.0.1:1/x?sslmode=disable&connect_timeout=5")
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "version"}, {"migrate", "down", "1"}} {
		r := mustOpsRun(t, ExitUnavailable, vars, args...)
		assertOneLine(t, r, "qyshook migrate: database unavailable", "s3cretpw")
	}
	// A directory where the file should be.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "ledger.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := mustOpsRun(t, ExitUnavailable, opsVars(t, "sqlite://"+filepath.Join(dir, "ledger.db")), "migrate", "up")
	assertOneLine(t, r, "database unavailable")
}
