// Package migrations embeds the ledger's golang-migrate files: sqlite/ for
// SQLite and postgres/ for PostgreSQL, with the same version numbers and
// names so the two schemas move in step. store/sqlite and store/postgres
// apply them at open; the qyshook CLI offers `migrate up|down|version`.
package migrations

import "embed"

// SQLite holds the SQLite migrations under the directory "sqlite".
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres holds the PostgreSQL migrations under the directory "postgres".
//
//go:embed postgres/*.sql
var Postgres embed.FS
