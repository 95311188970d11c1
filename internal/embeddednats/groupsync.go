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
type GroupSync struct {
	flush func() error

	mu      sync.Mutex
	next    *syncRound // the round new callers join; not started yet
	running bool       // a goroutine is working through rounds

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
// returns the flush's error, or ctx's when ctx ends first (the write may
// or may not be durable then).
func (g *GroupSync) Sync(ctx context.Context) error {
	if g == nil {
		return nil
	}
	g.waits.Add(1)
	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
		g.next = r
	}
	if !g.running {
		g.running = true
		go g.run()
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
func (g *GroupSync) run() {
	for {
		g.mu.Lock()
		r := g.next
		g.next = nil
		if r == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		start := time.Now()
		r.err = g.flush()
		g.seconds.Add(uint64(time.Since(start)))
		g.rounds.Add(1)
		if r.err != nil {
			g.failed.Add(1)
			r.err = fmt.Errorf("%w: %w", ErrSync, r.err)
		}
		close(r.done)
	}
}

// ErrSync wraps a failed flush.
var ErrSync = errors.New("embeddednats: store sync failed")

// SyncStats are a GroupSync's totals since it was made.
type SyncStats struct {
	// Rounds is the number of flushes, Failed how many of them failed.
	Rounds, Failed uint64
	// Waits is the number of Sync calls; Waits/Rounds is the group size.
	Waits uint64
	// Time is the total time spent flushing.
	Time time.Duration
}

// Stats returns the totals.
func (g *GroupSync) Stats() SyncStats {
	if g == nil {
		return SyncStats{}
	}
	return SyncStats{Rounds: g.rounds.Load(), Failed: g.failed.Load(), Waits: g.waits.Load(),
		Time: time.Duration(g.seconds.Load())}
}
