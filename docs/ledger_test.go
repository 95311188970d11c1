package docs

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
)

// sqlBlock is one fenced block of docs/ledger.md: its dialect ("" for
// both) and its statements.
type sqlBlock struct {
	dialect string
	stmts   []string
}

func ledgerExamples(t *testing.T) []sqlBlock {
	t.Helper()
	data, err := os.ReadFile("ledger.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []sqlBlock
	var cur *sqlBlock
	var text strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```sql"):
			d := strings.TrimSpace(strings.TrimPrefix(line, "```sql"))
			if d != "" && d != string(testdb.SQLite) && d != string(testdb.Postgres) {
				t.Fatalf("ledger.md: unknown dialect marker %q", line)
			}
			cur = &sqlBlock{dialect: d}
			text.Reset()
		case cur != nil && strings.HasPrefix(line, "```"):
			for _, s := range strings.Split(text.String(), ";") {
				var kept []string
				for _, l := range strings.Split(s, "\n") {
					if !strings.HasPrefix(strings.TrimSpace(l), "--") {
						kept = append(kept, l)
					}
				}
				if st := strings.TrimSpace(strings.Join(kept, "\n")); st != "" {
					cur.stmts = append(cur.stmts, st)
				}
			}
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			text.WriteString(line + "\n")
		}
	}
	return out
}

// TestLedgerExamples runs every SQL example of docs/ledger.md on a
// migrated ledger of each kind: unmarked blocks on both, marked ones on
// their dialect. Before, the examples used now() - interval, which SQLite
// refuses.
func TestLedgerExamples(t *testing.T) {
	blocks := ledgerExamples(t)
	counts := map[string]int{}
	for _, b := range blocks {
		counts[b.dialect] += len(b.stmts)
	}
	if counts[""] == 0 || counts["sqlite"] == 0 || counts["postgres"] == 0 || counts["sqlite"] != counts["postgres"] {
		t.Fatalf("statements per marker: %v (want portable ones and as many per dialect)", counts)
	}
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			u := testdb.URL(t, kind)
			testdb.OpenURL(t, u) // migrates
			driver, dsn := "pgx", u
			if kind == testdb.SQLite {
				driver, dsn = "sqlite", strings.TrimPrefix(u, "sqlite://")
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ran := 0
			for _, b := range blocks {
				if b.dialect != "" && b.dialect != string(kind) {
					continue
				}
				for _, st := range b.stmts {
					rows, err := db.QueryContext(ctx, st)
					if err == nil {
						for rows.Next() {
						}
						err = rows.Err()
						rows.Close()
					}
					if err != nil {
						t.Errorf("%s: %v\n%s", kind, err, st)
					}
					ran++
				}
			}
			if ran != counts[""]+counts[string(kind)] {
				t.Fatalf("ran %d statements", ran)
			}
		})
	}
}
