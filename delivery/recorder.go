package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/store"
)

// Bounds of the recorder: a batch is written every recordEvery, or as
// soon as recordBatch attempts wait; past recordPending waiting, add
// waits for a write.
const (
	recordEvery   = 50 * time.Millisecond
	recordBatch   = 500
	recordPending = 4096
)

// recorder writes attempts in batches, off the delivery path. The
// workers append to a shared list (a channel send per attempt woke the
// writer for each); the writer takes the whole list every recordEvery,
// or when a batch is ready.
type recorder struct {
	st  store.EndpointStore
	log zerolog.Logger

	mu      sync.Mutex
	taken   *sync.Cond // a write took the waiting attempts
	pending []store.EndpointAttempt
	closed  bool          // the writer ended: add no longer waits
	ready   chan struct{} // a batch is waiting (capacity 1)
	spare   []store.EndpointAttempt
}

func newRecorder(st store.EndpointStore, log zerolog.Logger) *recorder {
	r := &recorder{st: st, log: log, ready: make(chan struct{}, 1)}
	r.taken = sync.NewCond(&r.mu)
	return r
}

// add queues an attempt; when recordPending wait it waits for a write.
func (r *recorder) add(a store.EndpointAttempt) {
	r.mu.Lock()
	for len(r.pending) >= recordPending && !r.closed {
		r.taken.Wait()
	}
	r.pending = append(r.pending, a)
	if len(r.pending) == recordBatch {
		select {
		case r.ready <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
}

// take returns the waiting attempts (ended: add no longer waits).
func (r *recorder) take(ended bool) []store.EndpointAttempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	batch := r.pending
	r.pending, r.spare = r.spare[:0], nil
	r.closed = r.closed || ended
	r.taken.Broadcast()
	return batch
}

func (r *recorder) run(ctx context.Context) {
	t := time.NewTicker(recordEvery)
	defer t.Stop()
	flush := func(batch []store.EndpointAttempt) {
		// At most recordBatch a transaction: the fan-out's cursor
		// shares the ledger's writer.
		for rest := batch; len(rest) > 0; {
			chunk := rest[:min(len(rest), recordBatch)]
			rest = rest[len(chunk):]
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := r.st.AddEndpointAttempts(fctx, chunk...); err != nil {
				r.log.Error().Err(err).Int("attempts", len(chunk)).Msg("delivery: attempts not recorded")
			}
			cancel()
		}
		clear(batch) // the responses and errors are not kept alive
		r.mu.Lock()
		r.spare = batch[:0]
		r.mu.Unlock()
	}
	for {
		select {
		case <-r.ready:
		case <-t.C:
		case <-ctx.Done():
			flush(r.take(true))
			return
		}
		flush(r.take(false))
	}
}
