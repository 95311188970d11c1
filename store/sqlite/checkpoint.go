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
	forced  int   // TRUNCATE checkpoints run because the WAL passed the limit
	maxLog  int64 // the most frames seen in the WAL
}

// startCheckpointer opens the checkpoint connection on dsn (the writer's
// pragmas, busy timeout checkpointBusy) and starts its loop.
func startCheckpointer(ctx context.Context, dsn string, interval time.Duration, limit int64) (*checkpointer, error) {
	conn, err := sql.Open(Dialect.Driver, withPragma(dsn, fmt.Sprintf("busy_timeout(%d)", checkpointBusy.Milliseconds())))
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
	t := time.NewTicker(interval)
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
	}
}

// run checkpoints once: PASSIVE, then TRUNCATE when the WAL still holds
// more than the limit.
func (c *checkpointer) run(ctx context.Context) error {
	_, log, err := c.checkpoint(ctx, "PASSIVE")
	c.mu.Lock()
	c.passive++
	c.maxLog = max(c.maxLog, log)
	c.mu.Unlock()
	if err != nil || log <= c.limitFrames {
		return err
	}
	busy, _, err := c.checkpoint(ctx, "TRUNCATE")
	if err == nil && !busy {
		c.mu.Lock()
		c.forced++
		c.mu.Unlock()
	}
	return err
}

// checkpoint runs PRAGMA wal_checkpoint(mode): busy is true when it could
// not finish, log is the WAL's frames before it (-1: not in WAL mode).
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (busy bool, log int64, err error) {
	var b, done int64
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &log, &done); err != nil {
		return false, 0, fmt.Errorf("ledger: sqlite: checkpoint %s: %w", mode, err)
	}
	return b != 0, log, nil
}

// close stops the loop, checkpoints the whole WAL and closes the
// connection. A nil checkpointer (read-only) does nothing.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	_, _, err := c.checkpoint(context.Background(), "TRUNCATE")
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
