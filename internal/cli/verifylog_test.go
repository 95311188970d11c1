package cli

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
	_ "modernc.org/sqlite"             // the sqlite database/sql driver

	"github.com/qyshook/qyshook/internal/testdb"
)

// TestVerifyLogCommand: `verify --log` passes on an untouched ledger,
// then names a contract row edited behind qyshook's back and an archived
// file changed, exits 1, and prints JSON lines with --json; --log with
// --all is a usage error.
func TestVerifyLogCommand(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			u, l := opsLedger(t, kind)
			vars := opsVars(t, u)
			dir := vars["QYSHOOK_DATA_DIR"]
			good := archive(t, l, dir, "c-1", "d-1", []byte("%PDF-1.7 one"), nil)
			archive(t, l, dir, "c-2", "d-2", []byte("%PDF-1.7 two"), nil)
			r := mustOpsRun(t, ExitOK, vars, "verify", "--log")
			if !strings.Contains(r.stdout, "; 0 problems") || !strings.Contains(r.stdout, "checkpoints: 0 checked, 0 anchored (0 to a pinned root)") {
				t.Fatalf("clean ledger: %s", r.stdout)
			}
			mustOpsRun(t, ExitUsage, vars, "verify", "--log", "--all")

			db := rawDB(t, kind, u)
			if _, err := db.ExecContext(context.Background(), `UPDATE contracts SET subject = 'forged' WHERE id = 'c-2'`); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(good))
			if err := os.WriteFile(p, []byte("%PDF-1.7 ONE"), 0o600); err != nil {
				t.Fatal(err)
			}
			r = mustOpsRun(t, ExitFailure, vars, "verify", "--log")
			for _, want := range []string{"PROBLEM contract default/c-2: edited after leaf", "PROBLEM file " + good + ": changed", "; 2 problems"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			r = mustOpsRun(t, ExitFailure, vars, "verify", "--log", "--json")
			var lines []map[string]any
			sc := bufio.NewScanner(strings.NewReader(r.stdout))
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				lines = append(lines, m)
			}
			if len(lines) != 3 || lines[2]["summary"] != true || lines[2]["problems"] != float64(2) {
				t.Fatalf("json lines: %v", lines)
			}
			// One problem left (the file put back): said in the singular.
			if err := os.WriteFile(p, []byte("%PDF-1.7 one"), 0o600); err != nil {
				t.Fatal(err)
			}
			r = mustOpsRun(t, ExitFailure, vars, "verify", "--log")
			if !strings.Contains(r.stdout, "; 1 problem\n") || !strings.Contains(r.stderr, "1 problem in the receipt log") {
				t.Errorf("one problem:\n%s", r)
			}
		})
	}
}

// rawDB opens the ledger at u directly, to change it behind qyshook's back.
func rawDB(t *testing.T, kind testdb.Kind, u string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", u
	if kind == testdb.SQLite {
		driver, dsn = "sqlite", strings.TrimPrefix(u, "sqlite://")+"?_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
