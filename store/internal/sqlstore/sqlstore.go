package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/qyshook/qyshook/store"
)

// Dialect is what differs between the databases.
type Dialect struct {
	// Driver is the database/sql driver name ("sqlite", "pgx").
	Driver string
	// Numbered rewrites ? placeholders to $1, $2, … (PostgreSQL).
	Numbered bool
	// TextTime stores times as fixed-width RFC 3339 UTC text (SQLite)
	// instead of passing time.Time to the driver (PostgreSQL timestamptz).
	TextTime bool
	// LockRow is appended to a SELECT of one row inside a transaction to
	// lock it (" FOR UPDATE" on PostgreSQL; "" on SQLite, whose write
	// transactions are already exclusive).
	LockRow string
	// ByteOrder is appended to a text column in ORDER BY to sort it
	// byte by byte, as Go compares strings (` COLLATE "C"` on PostgreSQL;
	// "" on SQLite, whose default collation already does): the batch
	// path locks contracts in the order the other paths do.
	ByteOrder string
	// Transient reports driver errors worth retrying (busy, serialization
	// failure, lost connection); it may be nil.
	Transient func(error) bool
	// DiskFull reports driver errors of a disk without space (they are
	// marked store.ErrDiskFull and store.ErrTransient); it may be nil.
	DiskFull func(error) bool
	// Rejected reports driver errors no retry can fix: values the
	// database refuses (marked store.ErrRejected); it may be nil.
	Rejected func(error) bool
}

// DB implements store.Ledger over database/sql. Writes go to the writer
// pool in transactions; reads outside transactions go to the reader pool,
// which may be the same *sql.DB.
type DB struct {
	d      Dialect
	writer *sql.DB
	reader *sql.DB
	now    func() time.Time

	oneByOne  bool         // ApplyContracts never takes the set-based path (tests)
	fallbacks atomic.Int64 // set-based batches applied one change at a time instead

	logs  sync.Map // *sql.Tx → *txLog: the rows each open transaction wrote
	noLog bool     // write no receipt log (WithoutLog, benchmarks)

	foundEdited atomic.Int64                           // found-edited leaves appended (logfound.go)
	onFound     atomic.Pointer[func(store.LogProblem)] // called for each, after its commit
}

// OneByOne makes ApplyContracts apply every batch one change at a time,
// as before the set-based path: tests compare the two paths with it.
func OneByOne(s *DB) { s.oneByOne = true }

// SetClock makes s read the time from now instead of time.Now, so a
// test decides when leases and backoffs expire (tests). Call it before s
// is used; now must be safe for concurrent use.
func SetClock(s *DB, now func() time.Time) { s.now = now }

// Fallbacks is how many batches ApplyContracts rolled back from the
// set-based path and applied one change at a time (tests).
func Fallbacks(s *DB) int64 { return s.fallbacks.Load() }

var _ store.Ledger = (*DB)(nil)

// New returns a ledger over writer and reader (reader may be writer or
// nil for the same pool). The schema must already be migrated. Close
// closes both pools.
func New(d Dialect, writer, reader *sql.DB) *DB {
	if reader == nil {
		reader = writer
	}
	return &DB{d: d, writer: writer, reader: reader, now: time.Now}
}

// Ping checks both pools answer.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.writer.PingContext(ctx); err != nil {
		return s.fail("ping", err)
	}
	if s.reader != s.writer {
		if err := s.reader.PingContext(ctx); err != nil {
			return s.fail("ping reader", err)
		}
	}
	return nil
}

// Close closes both pools.
func (s *DB) Close() error {
	var errs []error
	if s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ledger: close: %w", err)
	}
	return nil
}

// q rewrites the ? placeholders of query for the dialect. Queries in
// this package never contain a literal question mark.
func (s *DB) q(query string) string {
	if !s.d.Numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inTx runs fn in a write transaction and commits it when fn returns nil,
// with the receipt log's leaves for the rows fn wrote (appendLog).
func (s *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tl := &txLog{}
	if !s.noLog {
		s.logs.Store(tx, tl)
		defer s.logs.Delete(tx)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := s.appendLog(ctx, tx, tl); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.reportFound(tl)
	return nil
}

// fail wraps err as "ledger: op: err", marking transient errors so that
// store.IsTransient reports them.
func (s *DB) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrDuplicate) && !errors.Is(err, store.ErrNotFound) {
		switch {
		case s.d.DiskFull != nil && s.d.DiskFull(err):
			err = markedError{err, []error{store.ErrDiskFull, store.ErrTransient}}
		case s.transient(err):
			err = transientError{err}
		case s.d.Rejected != nil && s.d.Rejected(err):
			err = markedError{err, []error{store.ErrRejected}}
		}
	}
	return fmt.Errorf("ledger: %s: %w", op, err)
}

func (s *DB) transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return s.d.Transient != nil && s.d.Transient(err)
}

// transientError marks err as store.ErrTransient without changing its text.
type transientError struct{ err error }

func (e transientError) Error() string   { return e.err.Error() }
func (e transientError) Unwrap() []error { return []error{e.err, store.ErrTransient} }

// markedError marks err with the sentinels marks without changing its text.
type markedError struct {
	err   error
	marks []error
}

func (e markedError) Error() string   { return e.err.Error() }
func (e markedError) Unwrap() []error { return append([]error{e.err}, e.marks...) }

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// limitClause returns " LIMIT n" for n > 0, else "".
func limitClause(n int) string {
	if n <= 0 {
		return ""
	}
	return " LIMIT " + strconv.Itoa(n)
}
