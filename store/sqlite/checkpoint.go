package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// checkpointer runs the WAL checkpoints on a connection of its own, off
// the writer's commit path (see the package doc).
type checkpointer struct {
	conn        *sql.DB // one connection
	limitFrames int64   // WALLimit in pages
	stop        chan struct{}
	done        chan struct{}

	mu      sync.Mutex
	passive int   // PASSIVE checkpoints run
	pinned  int   // runs past the limit that left the WAL to a reader's snapshot
	forced  int   // TRUNCATE checkpoints run because the WAL passed the limit
	maxLog  int64 // the most frames seen in the WAL
}

// startCheckpointer opens the checkpoint connection on dsn (the writer's
// pragmas, busy timeout checkpointBusy) and starts its loop.
func startCheckpointer(ctx context.Context, dsn string, interval time.Duration, limit int64) (*checkpointer, error) {
	conn, err := sql.Open(Dialect.Driver, setPragma(dsn, "busy_timeout", fmt.Sprintf("busy_timeout(%d)", checkpointBusy.Milliseconds())))
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxIdleTime(0)
	conn.SetConnMaxLifetime(0)
	var page int64
	if err := conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&page); err != nil || page <= 0 {
		_ = conn.Close()
		return nil, fmt.Errorf("page size %d: %v", page, err)
	}
	c := &checkpointer{conn: conn, limitFrames: max(limit/page, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop(interval)
	return c, nil
}

func (c *checkpointer) loop(interval time.Duration) {
	defer close(c.done)
	// A timer set after each run, not a ticker: a run that waited for a
	// lock is never followed at once by the next (a ticker's buffered
	// tick would start it while the writer waits for the lock).
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// Errors (busy, a full disk) are retried on the next tick; the
		// writer reports its own.
		_ = c.run(context.Background())
		t.Reset(interval)
	}
}

// run checkpoints once: PASSIVE, then TRUNCATE when the WAL still holds
// more than the limit.
func (c *checkpointer) run(ctx context.Context) error {
	_, log, done, err := c.checkpoint(ctx, "PASSIVE")
	c.mu.Lock()
	c.passive++
	c.maxLog = max(c.maxLog, log)
	c.mu.Unlock()
	if err != nil || log <= c.limitFrames {
		return err
	}
	if done < log {
		// A reader's snapshot (an export, verify --log) still needs
		// frames PASSIVE could not copy back: a TRUNCATE would wait for
		// that reader holding the WAL's write lock, and every commit
		// would wait behind it. The WAL grows past the limit until the
		// reader ends (docs); the next run tries again.
		c.mu.Lock()
		c.pinned++
		c.mu.Unlock()
		return nil
	}
	busy, _, _, err := c.checkpoint(ctx, "TRUNCATE")
	if err == nil && !busy {
		c.mu.Lock()
		c.forced++
		c.mu.Unlock()
	}
	return err
}

// checkpoint runs PRAGMA wal_checkpoint(mode): busy is true when it could
// not finish, log is the WAL's frames (-1: not in WAL mode), done those
// copied back into the database.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (busy bool, log, done int64, err error) {
	var b int64
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &log, &done); err != nil {
		return false, 0, 0, fmt.Errorf("ledger: sqlite: checkpoint %s: %w", mode, err)
	}
	return b != 0, log, done, nil
}

// close stops the loop, checkpoints the whole WAL and closes the
// connection. A nil checkpointer (read-only) does nothing.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	_, _, _, err := c.checkpoint(context.Background(), "TRUNCATE")
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// stats returns the PASSIVE and forced checkpoints run and the most WAL
// frames seen.
func (c *checkpointer) stats() (passive, forced int, maxLog int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.passive, c.forced, c.maxLog
}
