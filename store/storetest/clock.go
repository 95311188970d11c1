package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/postgres"
	"github.com/qyshook/qyshook/store/sqlite"
)

// Clock is a time that moves only when Advance is called; it is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// SetClock makes the SQLite or PostgreSQL ledger l read the time from c
// (lease expiry, backoff, timestamps), so a test decides when a lease
// expires instead of racing the wall clock. Call it before l is used.
func SetClock(t testing.TB, l store.Ledger, c *Clock) {
	t.Helper()
	switch db := l.(type) {
	case *sqlite.DB:
		sqlstore.SetClock(db.DB, c.Now)
	case *postgres.DB:
		sqlstore.SetClock(db.DB, c.Now)
	default:
		t.Fatalf("storetest: %T has no clock to set", l)
	}
}
