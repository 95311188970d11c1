// Package ledgerdb opens the ledger named by a URL: it picks store/sqlite
// or store/postgres (which import store, so store itself cannot). It also
// runs the schema migrations for `qyshook migrate up|down|version`.
//
// URLs:
//
//	""                          sqlite at <dataDir>/ledger.db
//	sqlite://data/ledger.db     relative to the working directory
//	sqlite:///var/lib/x.db      absolute
//	sqlite://x.db?synchronous=normal
//	postgres://… or postgresql://…
package ledgerdb

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/postgres"
	"github.com/qyshook/qyshook/store/sqlite"
)

// DefaultFile is the SQLite file under the data dir when the URL is empty.
const DefaultFile = "ledger.db"

// target is a parsed ledger URL.
type target struct {
	sqlitePath string // set for SQLite
	sqliteOpts sqlite.Options
	pgURL      string // set for PostgreSQL
}

// parse splits a ledger URL. Errors never repeat the URL, which may hold a
// password.
func parse(rawURL, dataDir string) (target, error) {
	if rawURL == "" {
		if dataDir == "" {
			dataDir = "."
		}
		return target{sqlitePath: filepath.Join(dataDir, DefaultFile)}, nil
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return target{}, fmt.Errorf("ledger: database url has no scheme: want sqlite://<path> or postgres://…")
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return target{pgURL: rawURL}, nil
	case "sqlite", "sqlite3":
		path, query, _ := strings.Cut(rest, "?")
		if path == "" {
			return target{}, fmt.Errorf("ledger: sqlite url has no path")
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return target{}, fmt.Errorf("ledger: sqlite url query: %w", err)
		}
		t := target{sqlitePath: filepath.FromSlash(path)}
		for k := range q {
			if k != "synchronous" {
				return target{}, fmt.Errorf("ledger: sqlite url: unknown parameter %q", k)
			}
		}
		t.sqliteOpts.Synchronous = q.Get("synchronous")
		return t, nil
	default:
		return target{}, fmt.Errorf("ledger: unknown database scheme %q: want sqlite:// or postgres://", scheme)
	}
}

// Open opens, migrating to the latest schema, the ledger at rawURL; an
// empty URL means SQLite at <dataDir>/ledger.db. A SQLite ledger is held
// for writing until Close: while one process holds it, Open in another
// fails naming it (errors.Is(err, pidlock.ErrHeld)).
func Open(ctx context.Context, rawURL, dataDir string) (store.Ledger, error) {
	return open(ctx, rawURL, dataDir, false, Options{})
}

// Options tunes OpenWith; the zero value is Open's defaults.
type Options struct {
	// SQLiteCache is a SQLite ledger's page cache for writing, in bytes
	// (sqlite.Options.CacheSize; 0: sqlite.DefaultCacheSize). PostgreSQL
	// ignores it.
	SQLiteCache int64
	// NoReceiptLog writes no receipt log (benchmarks compare the
	// dispatcher with and without it; a ledger written so fails `verify
	// --log`). Never for a deployment.
	NoReceiptLog bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, rawURL, dataDir string, o Options) (store.Ledger, error) {
	return open(ctx, rawURL, dataDir, false, o)
}

// OpenReadOnly opens the ledger at rawURL for commands that only read: a
// SQLite ledger is neither locked, nor created when missing (an error
// naming the path), nor migrated. PostgreSQL opens as with Open.
func OpenReadOnly(ctx context.Context, rawURL, dataDir string) (store.Ledger, error) {
	return open(ctx, rawURL, dataDir, true, Options{})
}

func open(ctx context.Context, rawURL, dataDir string, readOnly bool, o Options) (store.Ledger, error) {
	t, err := parse(rawURL, dataDir)
	if err != nil {
		return nil, err
	}
	t.sqliteOpts.ReadOnly = readOnly
	t.sqliteOpts.CacheSize = o.SQLiteCache
	// Return an untyped nil on failure: a typed nil pointer in the
	// interface would look like an open ledger to the caller.
	if t.pgURL != "" {
		db, err := postgres.Open(ctx, t.pgURL)
		if err != nil {
			return nil, err
		}
		if o.NoReceiptLog {
			sqlstore.WithoutLog(db.DB)
		}
		if !readOnly {
			if _, err := db.BackfillLog(ctx); err != nil {
				db.Close()
				return nil, err
			}
		}
		return db, nil
	}
	db, err := sqlite.Open(ctx, t.sqlitePath, t.sqliteOpts)
	if err != nil {
		return nil, err
	}
	if o.NoReceiptLog {
		sqlstore.WithoutLog(db.DB)
	}
	if !readOnly {
		if _, err := db.BackfillLog(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// MigrateUp applies every pending migration. Up to date is success.
func MigrateUp(rawURL, dataDir string) error {
	t, err := parse(rawURL, dataDir)
	if err != nil {
		return err
	}
	if t.pgURL != "" {
		return postgres.MigrateUp(t.pgURL)
	}
	return sqlite.MigrateUp(t.sqlitePath)
}

// MigrateDown rolls back steps migrations (all of them when steps <= 0).
func MigrateDown(rawURL, dataDir string, steps int) error {
	t, err := parse(rawURL, dataDir)
	if err != nil {
		return err
	}
	if t.pgURL != "" {
		return postgres.MigrateDown(t.pgURL, steps)
	}
	return sqlite.MigrateDown(t.sqlitePath, steps)
}

// Version returns the schema version and whether a migration failed
// halfway (dirty); 0 means no migration applied.
func Version(rawURL, dataDir string) (version uint, dirty bool, err error) {
	t, err := parse(rawURL, dataDir)
	if err != nil {
		return 0, false, err
	}
	if t.pgURL != "" {
		return postgres.Version(t.pgURL)
	}
	return sqlite.Version(t.sqlitePath)
}

// SQLitePath returns the file of a SQLite ledger URL, or false for
// PostgreSQL (or a URL that does not parse).
func SQLitePath(rawURL, dataDir string) (string, bool) {
	t, err := parse(rawURL, dataDir)
	if err != nil || t.pgURL != "" {
		return "", false
	}
	return t.sqlitePath, true
}
