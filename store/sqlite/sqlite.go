// Package sqlite is the SQLite ledger: modernc.org/sqlite (pure Go, no
// cgo) under the shared SQL of store/internal/sqlstore.
//
// The database runs in WAL mode with foreign keys on and a 10 s busy
// timeout. Writes go through a pool of exactly one connection whose
// transactions begin IMMEDIATE, so writers in this process queue in Go
// instead of failing with SQLITE_BUSY, and writers in other processes wait
// on the busy timeout; reads use a separate read-only pool, which WAL lets
// run beside the writer.
//
// Durability: synchronous=FULL by default. WAL with NORMAL already
// survives a process crash, but may lose the last commits on power loss,
// and the dispatcher acknowledges a NATS message as soon as its commit
// returns; FULL makes that acknowledgement safe for one fsync per commit.
// Options.Synchronous = "NORMAL" trades that for throughput.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// BusyTimeout is how long a connection waits for another process's lock
// before SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// maxReaders bounds the read-only pool.
const maxReaders = 4

// Options tunes Open; the zero value is the default.
type Options struct {
	// Synchronous is PRAGMA synchronous: "FULL" (default) or "NORMAL".
	Synchronous string
}

// DB is the SQLite ledger.
type DB struct {
	*sqlstore.DB
	path string
}

var _ store.Ledger = (*DB)(nil)

// Dialect is the SQL dialect of SQLite.
var Dialect = sqlstore.Dialect{
	Driver:    "sqlite",
	TextTime:  true,
	Transient: IsTransient,
}

// Open opens (creating if needed) the ledger at path, migrates it to the
// latest schema and returns it. It creates the parent directory.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	dsn, err := writerDSN(path, opts)
	if err != nil {
		return nil, err
	}
	if err := ensureDir(path); err != nil {
		return nil, err
	}
	if err := migrateUp(path, dsn); err != nil {
		return nil, err
	}
	writer, err := sql.Open(Dialect.Driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	reader, err := sql.Open(Dialect.Driver, readerDSN(dsn))
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(maxReaders)
	reader.SetMaxIdleConns(maxReaders)
	db := &DB{DB: sqlstore.New(Dialect, writer, reader), path: path}
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Path returns the database file.
func (db *DB) Path() string { return db.path }

// writerDSN builds the driver DSN for path: a file: URI with the pragmas
// every connection needs.
func writerDSN(path string, opts Options) (string, error) {
	if path == "" {
		return "", errors.New("ledger: sqlite: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("ledger: sqlite path %s: %w", path, err)
	}
	sync := strings.ToUpper(opts.Synchronous)
	switch sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL":
	default:
		return "", fmt.Errorf("ledger: sqlite: synchronous %q: want FULL or NORMAL", opts.Synchronous)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return "file:" + u.EscapedPath() + "?" + u.RawQuery, nil
}

// readerDSN turns the writer DSN into a read-only one.
func readerDSN(writer string) string {
	return writer + "&" + url.Values{"_pragma": {"query_only(1)"}}.Encode()
}

// IsTransient reports SQLite errors worth retrying: busy, locked, full.
func IsTransient(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL:
		return true
	}
	return false
}

// ensureDir creates the directory holding path.
func ensureDir(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("ledger: sqlite: %w", err)
	}
	return nil
}
