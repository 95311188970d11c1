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
// The writer connection's page cache is Options.CacheSize
// (DefaultCacheSize, 128 MiB, unless set): with SQLite's default of 2 MB a
// ledger of a few hundred thousand events re-reads most pages of its
// random-keyed indexes (event and fact ids) from the kernel on every
// insert. The read-only pool keeps SQLite's default.
//
// Checkpoints run off the commit path: the writer connection has
// wal_autocheckpoint off, so a commit never copies the WAL back into the
// database file (SQLite's default runs that inline in the commit that
// passes 1,000 pages, 15 % of the dispatcher's samples at a million
// events). A connection of its own runs a PASSIVE checkpoint every
// Options.CheckpointInterval (DefaultCheckpointInterval) beside the
// writer, which neither waits for nor blocks it. The WAL is bounded by
// Options.WALLimit (DefaultWALLimit, 64 MiB): when the frames not yet
// reset pass it (a checkpoint that could not finish while readers held
// old snapshots, or one that kept losing the race with the next commit),
// a TRUNCATE checkpoint runs, which holds new writers back until the
// readers move on (at most its 1 s busy timeout, then it tries again on
// the next tick), copies what is left and empties the file. The WAL file
// is also cut back to WALLimit whenever SQLite restarts it
// (journal_size_limit). So the file passes WALLimit only by what is
// written in one interval, or while a reader keeps a snapshot open for
// longer than that (a reader pins every frame after its snapshot; no
// checkpoint can reset a WAL in use). Close runs a TRUNCATE checkpoint.
//
// Durability: synchronous=FULL by default. WAL with NORMAL already
// survives a process crash, but may lose the last commits on power loss,
// and the dispatcher acknowledges a NATS message as soon as its commit
// returns; FULL makes that acknowledgement safe for one fsync per commit.
// Options.Synchronous = "NORMAL" trades that for throughput.
//
// One writer process per file: Open takes an exclusive lock on
// <path>.lock (the holder's pid inside) and keeps it until Close, so a
// second process opening the ledger for writing stops with an error
// naming the holder. Opens within one process share the lock. Options.ReadOnly opens without the lock, never
// creates the file and never migrates, for operator commands that only
// read.
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

	"github.com/qyshook/qyshook/pidlock"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// BusyTimeout is how long a connection waits for another process's lock
// before SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// maxReaders bounds the read-only pool.
const maxReaders = 4

// DefaultCacheSize is Options.CacheSize's default: the writer
// connection's page cache, in bytes. SQLite's own default (2 MB) holds a
// small part of the indexes keyed by random ids (event and fact ids) once
// the ledger holds a few hundred thousand events, so nearly every insert
// re-reads pages through the kernel. SQLite fills the cache as it reads,
// so a small ledger never uses all of it.
const DefaultCacheSize = 128 << 20

// minCacheSize is the smallest Options.CacheSize accepted.
const minCacheSize = 1 << 20

// Options tunes Open; the zero value is the default.
type Options struct {
	// Synchronous is PRAGMA synchronous: "FULL" (default) or "NORMAL".
	Synchronous string
	// ReadOnly opens an existing ledger for reading only: no write lock,
	// no migration, and a missing file is an error instead of being
	// created.
	ReadOnly bool
	// CacheSize is the page cache of the writer connection in bytes
	// (PRAGMA cache_size); 0 means DefaultCacheSize, else at least 1 MiB.
	// The read-only pool keeps SQLite's default (2 MB per connection).
	CacheSize int64
	// CheckpointInterval is how often the background checkpoint runs; 0
	// means DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// WALLimit bounds the WAL in bytes (see the package doc): past it a
	// TRUNCATE checkpoint runs, and a restarted WAL file is cut back to
	// it. 0 means DefaultWALLimit, else at least 1 MiB.
	WALLimit int64
}

// DefaultCheckpointInterval is Options.CheckpointInterval's default.
const DefaultCheckpointInterval = 500 * time.Millisecond

// DefaultWALLimit is Options.WALLimit's default: 64 MiB.
const DefaultWALLimit = 64 << 20

// checkpointBusy is the checkpoint connection's busy timeout: how long a
// TRUNCATE checkpoint waits for the writer and the readers (holding new
// writers back meanwhile) before it gives up until the next tick.
const checkpointBusy = time.Second

// DB is the SQLite ledger.
type DB struct {
	*sqlstore.DB
	path   string
	lock   *pidlock.Lock // nil when read-only
	writer *sql.DB       // the writer pool (the reader pool when read-only)
	reader *sql.DB       // the read-only pool
	ckpt   *checkpointer // nil when read-only
}

// LockPath is the write lock of the ledger at path.
func LockPath(path string) string { return path + ".lock" }

var _ store.Ledger = (*DB)(nil)

// Dialect is the SQL dialect of SQLite.
var Dialect = sqlstore.Dialect{
	Driver:    "sqlite",
	TextTime:  true,
	Transient: IsTransient,
	DiskFull:  IsDiskFull,
	Rejected:  IsRejected,
}

// Open opens (creating if needed) the ledger at path, migrates it to the
// latest schema and returns it. It creates the parent directory.
//
// A ledger another process holds for writing is an error naming that
// process (errors.Is(err, pidlock.ErrHeld)).
func Open(ctx context.Context, path string, opts Options) (_ *DB, err error) {
	dsn, err := baseDSN(path, opts)
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		return openReadOnly(ctx, path, dsn)
	}
	cache := opts.CacheSize
	switch {
	case cache == 0:
		cache = DefaultCacheSize
	case cache < minCacheSize:
		return nil, fmt.Errorf("ledger: sqlite: cache size %d bytes: want at least %d (1 MiB), or 0 for the default", cache, minCacheSize)
	}
	interval, limit := opts.CheckpointInterval, opts.WALLimit
	switch {
	case interval == 0:
		interval = DefaultCheckpointInterval
	case interval < 0:
		return nil, fmt.Errorf("ledger: sqlite: checkpoint interval %v: want a positive duration, or 0 for the default", interval)
	}
	switch {
	case limit == 0:
		limit = DefaultWALLimit
	case limit < minCacheSize:
		return nil, fmt.Errorf("ledger: sqlite: WAL limit %d bytes: want at least %d (1 MiB), or 0 for the default", limit, minCacheSize)
	}
	if err := ensureDir(path); err != nil {
		return nil, err
	}
	lock, err := pidlock.Shared(LockPath(path))
	if err != nil {
		return nil, fmt.Errorf("ledger in use: %w", err)
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	if err := migrateUp(path, dsn); err != nil {
		return nil, err
	}
	wdsn := withPragma(dsn, fmt.Sprintf("journal_size_limit(%d)", limit))
	writer, err := sql.Open(Dialect.Driver, withPragma(withPragma(wdsn, "wal_autocheckpoint(0)"), fmt.Sprintf("cache_size(%d)", -cache/1024)))
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
	db := &DB{DB: sqlstore.New(Dialect, writer, reader), path: path, writer: writer, reader: reader}
	if err := db.Ping(ctx); err != nil {
		_ = db.DB.Close()
		return nil, err
	}
	if db.ckpt, err = startCheckpointer(ctx, wdsn, interval, limit); err != nil {
		_ = db.DB.Close()
		return nil, fmt.Errorf("ledger: open %s: checkpointer: %w", path, err)
	}
	db.lock = lock
	return db, nil
}

// openReadOnly opens an existing ledger with the read-only pool alone.
func openReadOnly(ctx context.Context, path, dsn string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("ledger: %s does not exist (nothing recorded yet, or QYSHOOK_DB / QYSHOOK_DATA_DIR name another ledger)", path)
		}
		return nil, fmt.Errorf("ledger: %w", err)
	}
	reader, err := sql.Open(Dialect.Driver, readerDSN(dsn))
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(maxReaders)
	reader.SetMaxIdleConns(maxReaders)
	db := &DB{DB: sqlstore.New(Dialect, reader, reader), path: path, writer: reader, reader: reader}
	if err := db.Ping(ctx); err != nil {
		_ = db.DB.Close()
		return nil, err
	}
	return db, nil
}

// Close stops the background checkpoint, checkpoints what the WAL holds
// (TRUNCATE), closes the database and releases the write lock.
func (db *DB) Close() error {
	cerr := db.ckpt.close()
	db.ckpt = nil
	err := errors.Join(db.DB.Close(), cerr)
	db.lock.Release()
	db.lock = nil
	return err
}

// Path returns the database file.
func (db *DB) Path() string { return db.path }

// baseDSN builds the driver DSN for path: a file: URI with the pragmas
// every connection needs.
func baseDSN(path string, opts Options) (string, error) {
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

// readerDSN turns the base DSN into a read-only one.
func readerDSN(base string) string { return withPragma(base, "query_only(1)") }

// setPragma replaces every pragma called name in dsn by pragma
// (name(value)). (Adding a second one does not work: the driver applies
// busy_timeout pragmas in an order of its own, and the first may win.)
func setPragma(dsn, name, pragma string) string {
	base, raw, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(raw)
	if err != nil {
		return withPragma(dsn, pragma)
	}
	var keep []string
	for _, p := range q["_pragma"] {
		if !strings.HasPrefix(p, name+"(") {
			keep = append(keep, p)
		}
	}
	q["_pragma"] = append(keep, pragma)
	return base + "?" + q.Encode()
}

// withPragma adds one pragma (name(value)) to a DSN.
func withPragma(dsn, pragma string) string {
	return dsn + "&" + url.Values{"_pragma": {pragma}}.Encode()
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

// ensureDir creates the directory holding path (0700) and the database
// file itself (0600) when missing: the ledger holds names, phone and ID
// numbers, so neither is readable by other users. SQLite gives its -wal
// and -shm files the database file's mode.
func ensureDir(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("ledger: sqlite: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, os.ErrExist):
		return nil
	}
	return fmt.Errorf("ledger: sqlite: %w", err)
}
