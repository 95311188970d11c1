package embeddednats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// GroupSync makes acknowledged writes durable in groups: a caller that
// has its PubAck calls Sync, which returns once a flush of the whole
// store that started after the call has completed. Callers that arrive
// while a flush runs wait for the next one together, so under load one
// flush covers many messages (group commit) instead of one fsync each.
//
// It relies on what nats-server does on a single node without
// "sync: always": each message is written to its block file (the
// operating system's cache) before the PubAck is sent. The flush then
// puts that write, and every other file of the store, on the disk.
//
// A failed flush is final: the operating system may have dropped the
// pages it could not write and reports that only once, so a later flush
// could succeed without them. From then on every Sync fails (Err), until
// the process is restarted, as PostgreSQL does after a failed fsync.
type GroupSync struct {
	flush  func() error
	detail func(*SyncStats) // adds what the flush synced, if it counts that

	mu      sync.Mutex
	next    *syncRound    // the round new callers join; not started yet
	running bool          // a goroutine is working through rounds
	idle    chan struct{} // closed when running ends; nil while idle
	err     error         // the first flush error, final
	closed  bool

	rounds  atomic.Uint64
	waits   atomic.Uint64
	failed  atomic.Uint64
	seconds atomic.Uint64 // total flush time, nanoseconds
}

type syncRound struct {
	done chan struct{}
	err  error
}

// NewGroupSync returns a GroupSync that calls flush once per round.
// flush must make every write issued before it was called durable.
func NewGroupSync(flush func() error) *GroupSync {
	return &GroupSync{flush: flush}
}

// Sync returns nil once a flush that started after Sync was called has
// succeeded: every write made before the call is then on the disk. It
// returns ErrSync after any flush has failed, ErrSyncClosed after Close,
// or ctx's error when ctx ends first (the write may or may not be
// durable then).
func (g *GroupSync) Sync(ctx context.Context) error {
	if g == nil {
		return nil
	}
	g.waits.Add(1)
	g.mu.Lock()
	switch {
	case g.err != nil:
		err := g.err
		g.mu.Unlock()
		return err
	case g.closed:
		g.mu.Unlock()
		return ErrSyncClosed
	}
	r := g.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
		g.next = r
	}
	if !g.running {
		g.running, g.idle = true, make(chan struct{})
		go g.run(g.idle)
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("embeddednats: waiting for the store to sync: %w", ctx.Err())
	}
}

// run flushes round after round while callers keep joining; a round is
// taken (closed to new callers) before its flush starts.
func (g *GroupSync) run(idle chan struct{}) {
	defer close(idle)
	for {
		g.mu.Lock()
		r := g.next
		g.next = nil
		if r == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		err := g.err
		g.mu.Unlock()
		if err == nil {
			err = g.timedFlush()
		}
		r.err = err
		close(r.done)
	}
}

// timedFlush flushes once, counts it, and keeps the first failure.
func (g *GroupSync) timedFlush() error {
	start := time.Now()
	err := g.flush()
	g.seconds.Add(uint64(time.Since(start)))
	g.rounds.Add(1)
	if err == nil {
		return nil
	}
	g.failed.Add(1)
	err = fmt.Errorf("%w: %w (the store stays failed until qyshook is restarted: check the disk)", ErrSync, err)
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	err = g.err
	g.mu.Unlock()
	return err
}

// Err returns the failure that ended syncing, nil while syncs succeed.
func (g *GroupSync) Err() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Close waits for the running flushes, flushes once more (writes made
// since, such as nats-server's own on shutdown), and makes later Sync
// calls fail with ErrSyncClosed. Call it after the server has stopped
// and before the flush's resources are released.
func (g *GroupSync) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	g.closed = true
	idle := g.idle
	g.mu.Unlock()
	if idle != nil {
		<-idle
	}
	g.mu.Lock()
	err := g.err
	g.mu.Unlock()
	if err != nil {
		return err
	}
	return g.timedFlush()
}

var (
	// ErrSync wraps a failed flush; it is final (see GroupSync).
	ErrSync = errors.New("embeddednats: store sync failed")
	// ErrSyncClosed is Sync's error after Close.
	ErrSyncClosed = errors.New("embeddednats: store closed")
)

// SyncStats are a GroupSync's totals since it was made.
type SyncStats struct {
	// Rounds is the number of flushes, Failed how many of them failed.
	Rounds, Failed uint64
	// Waits is the number of Sync calls; Waits/Rounds is the group size.
	Waits uint64
	// Time is the total time spent flushing.
	Time time.Duration
	// Files and Dirs are the files fdatasynced and directories fsynced
	// by the store's own-files flush (mode grouped), FullPasses its
	// flushes of the whole store (the first, and after an inotify queue
	// overflow), Syncfs its flushes by syncfs instead (a directory it
	// could not watch). All zero with grouped-syncfs.
	Files, Dirs, FullPasses, Syncfs uint64
}

// Stats returns the totals.
func (g *GroupSync) Stats() SyncStats {
	if g == nil {
		return SyncStats{}
	}
	st := SyncStats{Rounds: g.rounds.Load(), Failed: g.failed.Load(), Waits: g.waits.Load(),
		Time: time.Duration(g.seconds.Load())}
	if g.detail != nil {
		g.detail(&st)
	}
	return st
}
