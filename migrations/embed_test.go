package migrations

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

var migrationName = regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.(up|down)\.sql$`)

func names(t *testing.T, fsys fs.FS, dir string) []string {
	t.Helper()
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var out []string
	for _, e := range entries {
		if !migrationName.MatchString(e.Name()) {
			t.Errorf("%s/%s: not NNNN_name.{up,down}.sql", dir, e.Name())
		}
		out = append(out, e.Name())
	}
	return out
}

func TestSameVersions(t *testing.T) {
	lite := names(t, SQLite, "sqlite")
	pg := names(t, Postgres, "postgres")
	if len(lite) == 0 {
		t.Fatal("no migrations")
	}
	if !slices.Equal(lite, pg) {
		t.Fatalf("sqlite and postgres migrations differ:\nsqlite:   %v\npostgres: %v", lite, pg)
	}
	for _, n := range lite {
		up := regexp.MustCompile(`\.down\.sql$`).ReplaceAllString(n, ".up.sql")
		down := regexp.MustCompile(`\.up\.sql$`).ReplaceAllString(n, ".down.sql")
		if !slices.Contains(lite, up) || !slices.Contains(lite, down) {
			t.Errorf("%s: missing its up or down pair", n)
		}
	}
}

func TestStepsAbove(t *testing.T) {
	all := StepsAbove(SQLite, "sqlite", 0)
	if n := len(names(t, SQLite, "sqlite")) / 2; all != n {
		t.Errorf("StepsAbove(0) = %d, want every migration (%d)", all, n)
	}
	if got := StepsAbove(SQLite, "sqlite", 3); got != all-3 {
		t.Errorf("StepsAbove(3) = %d, want %d", got, all-3)
	}
}
