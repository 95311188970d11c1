// Package migrations embeds the ledger's golang-migrate files: sqlite/ for
// SQLite and postgres/ for PostgreSQL, with the same version numbers and
// names so the two schemas move in step. store/sqlite and store/postgres
// apply them at open; the qyshook CLI offers `migrate up|down|version`.
package migrations

import (
	"embed"
	"io/fs"
	"strconv"
	"strings"
)

// SQLite holds the SQLite migrations under the directory "sqlite".
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres holds the PostgreSQL migrations under the directory "postgres".
//
//go:embed postgres/*.sql
var Postgres embed.FS

// StepsAbove counts the migrations of dir in fsys numbered above version:
// the steps down from the latest to version, whatever gaps the numbering
// has (numbers are handed out to parallel branches).
func StepsAbove(fsys fs.FS, dir string, version uint) int {
	entries, _ := fs.ReadDir(fsys, dir)
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		if v, err := strconv.ParseUint(strings.SplitN(name, "_", 2)[0], 10, 32); err == nil && uint(v) > version {
			n++
		}
	}
	return n
}
