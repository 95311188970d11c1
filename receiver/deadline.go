package receiver

import (
	"context"
	"sync"
	"time"
)

// deadlines hands out contexts that end a bounded wait after they are
// asked for, shared by the callbacks that start within the same slot of
// time: one timer per slot instead of one per callback
// (context.WithTimeout's timer was as costly as the publish's request).
// A context from get ends between d and d+slot after the call.
type deadlines struct {
	d, slot time.Duration

	mu  sync.Mutex
	ctx context.Context
	// cancel is ctx's; never called while callbacks may hold ctx (an
	// earlier slot's context ends by its deadline, which releases its
	// timer too).
	cancel context.CancelFunc
	end    time.Time // when ctx was made + slot: get makes a new one from then
}

// deadlineSlot is how long one shared context is handed out.
const deadlineSlot = 50 * time.Millisecond

func newDeadlines(d time.Duration) *deadlines { return &deadlines{d: d, slot: deadlineSlot} }

// get returns a context that ends between d and d+slot from now. It is
// never cancelled otherwise; its timer is released when it ends.
func (ds *deadlines) get(now time.Time) context.Context {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.ctx == nil || !now.Before(ds.end) {
		ds.ctx, ds.cancel = context.WithDeadline(context.Background(), now.Add(ds.d+ds.slot))
		ds.end = now.Add(ds.slot)
	}
	return ds.ctx
}
