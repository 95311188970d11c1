package delivery

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/store"
)

// recorder writes attempts in batches, off the delivery path.
type recorder struct {
	st  store.EndpointStore
	log zerolog.Logger
	in  chan store.EndpointAttempt
}

func newRecorder(st store.EndpointStore, log zerolog.Logger) *recorder {
	return &recorder{st: st, log: log, in: make(chan store.EndpointAttempt, 4096)}
}

// add queues an attempt; when the queue is full it waits.
func (r *recorder) add(a store.EndpointAttempt) { r.in <- a }

func (r *recorder) run(ctx context.Context) {
	var batch []store.EndpointAttempt
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := r.st.AddEndpointAttempts(fctx, batch...); err != nil {
			r.log.Error().Err(err).Int("attempts", len(batch)).Msg("delivery: attempts not recorded")
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case a := <-r.in:
			batch = append(batch, a)
			if len(batch) >= 500 {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case a := <-r.in:
					batch = append(batch, a)
				default:
					flush()
					return
				}
			}
		}
	}
}
