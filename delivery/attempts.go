package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/store"
)

// made counts the attempts this process made of each queued delivery (by
// its QYS_DELIVERY sequence), until it is settled. A message handed out
// again without an attempt (its runner stopped on a settings change, the
// process shut down during a rate-limit wait, or crashed) keeps its place
// on the retry schedule: the attempt number counts attempts, not
// deliveries of the message.
type made struct {
	mu sync.Mutex
	m  map[uint64]madeCount
}

type madeCount struct {
	n  int
	at time.Time
}

func (c *made) get(seq uint64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[seq].n
}

func (c *made) set(seq uint64, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint64]madeCount{}
	}
	c.m[seq] = madeCount{n: n, at: time.Now()}
}

func (c *made) done(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, seq)
}

// prune forgets the deliveries last attempted before before (another
// process settled them, or they expired).
func (c *made) prune(before time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for seq, e := range c.m {
		if e.at.Before(before) {
			delete(c.m, seq)
		}
	}
}

// clockSkew is how far the clock of the process that made an attempt may
// be behind the NATS server's that stamped the queued message.
const clockSkew = time.Second

// attemptNumber is the number of the attempt about to be made of m: one
// more than the attempts made of it, counted by this process and, for one
// another process (or this one before a restart) made, from the attempts
// recorded for the fact since the message was queued. It is never more
// than the message's delivery count. An attempt made just before a crash
// whose record was lost is not counted: one attempt more, never fewer.
func (r *runner) attemptNumber(ctx context.Context, meta *jetstream.MsgMetadata, epID, factID string) int {
	delivered := int(meta.NumDelivered)
	if delivered <= 1 {
		return 1
	}
	s := r.s
	n := s.made.get(meta.Sequence.Stream)
	atts, err := s.o.Store.EndpointAttempts(ctx, store.EndpointAttemptFilter{EndpointID: epID, FactID: factID,
		Limit: len(s.o.Schedule) + 2})
	if err != nil {
		s.log.Warn().Err(err).Str("endpoint", epID).Str("fact_id", factID).Msg("delivery: read the attempts made")
	}
	recorded := 0
	queued := meta.Timestamp.Add(-clockSkew)
	for _, a := range atts { // newest first
		if a.At.Before(queued) {
			break // an earlier delivery of the same fact (a replay, a retried dead letter)
		}
		recorded++
	}
	return min(delivered, max(n, recorded)+1)
}
