// Package migrations embeds the ledger's golang-migrate files: sqlite/ for
// SQLite and postgres/ for PostgreSQL, with the same version numbers and
// names so the two schemas move in step. store/sqlite and store/postgres
// apply them at open; the qyshook CLI offers `migrate up|down|version`.
package migrations

import (
	"embed"
	"fmt"
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

// StepsAbove counts the migrations whose version is above v: the steps
// down to version v (versions may leave gaps, so v's distance to the
// latest version is not it).
func StepsAbove(v uint) int {
	entries, err := SQLite.ReadDir("sqlite")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		var ver uint
		if _, err := fmt.Sscanf(e.Name(), "%d_", &ver); err == nil && ver > v && strings.HasSuffix(e.Name(), ".up.sql") {
			n++
		}
	}
	return n
}
