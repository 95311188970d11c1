package delivery

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

// shape is what a runner is built with; a change restarts it.
type shape struct {
	concurrency  int
	allowPrivate bool
	rate         float64
}

func shapeOf(ep *store.Endpoint) shape {
	c := ep.Concurrency
	if c <= 0 {
		c = DefaultConcurrency
	}
	if ep.Ordered {
		c = 1
	}
	return shape{concurrency: c, allowPrivate: ep.AllowPrivate, rate: ep.RateLimit}
}

// runner delivers one endpoint's queue with its own connections, limiter
// and workers: nothing it waits on is shared with another endpoint.
type runner struct {
	s       *Stage
	shape   shape
	ep      atomic.Pointer[store.Endpoint]
	sender  *webhook.Sender
	limiter *rate.Limiter
	cancel  context.CancelFunc
	done    chan struct{}
	health  health
	// off is set once this runner saw its endpoint disabled (410, or
	// failing too long): it sends nothing more and ends.
	off atomic.Bool
	// lastFailure is when this runner last saw an attempt fail (Unix ns).
	lastFailure atomic.Int64
	// The endpoint's series of the metrics touched on every success,
	// looked up once.
	attemptsOK     prometheus.Counter
	attemptSeconds prometheus.Observer
}

// finished reports whether the runner has ended by itself.
func (r *runner) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (s *Stage) start(ctx context.Context, ep *store.Endpoint) *runner {
	ctx, cancel := context.WithCancel(ctx)
	r := &runner{s: s, shape: shapeOf(ep), sender: webhook.NewSender(s.o.Timeout, ep.AllowPrivate),
		cancel: cancel, done: make(chan struct{}),
		attemptsOK: s.m.attempts.WithLabelValues(ep.ID, "ok"), attemptSeconds: s.m.attemptSeconds.WithLabelValues(ep.ID)}
	if ep.RateLimit > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(ep.RateLimit), max(1, int(ep.RateLimit)))
	}
	r.health.failing = ep.FailingSince != nil
	r.ep.Store(ep)
	go r.run(ctx)
	return r
}

// update gives the runner its endpoint's row, read at readAt.
func (r *runner) update(ep *store.Endpoint, readAt time.Time) {
	r.ep.Store(ep)
	r.health.refresh(ep.FailingSince != nil, readAt)
}

// health is whether the runner takes its endpoint for failing: a
// success clears the row's failing_since only then. Another process may
// set or clear failing_since at any time, so the row read every Refresh
// updates it, except for a failure this runner recorded after that read
// began.
type health struct {
	mu       sync.Mutex
	failing  bool
	recorded time.Time // when this runner last recorded a failure
}

func (h *health) refresh(failing bool, readAt time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if failing || h.recorded.Before(readAt) {
		h.failing = failing
	}
}

func (h *health) set(failing bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing = failing
	if failing {
		h.recorded = time.Now()
	}
}

func (h *health) isFailing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failing
}

// stop ends the runner; an attempt in flight is abandoned unacknowledged
// (its message comes again after the ack wait).
func (r *runner) stop() {
	r.cancel()
	<-r.done
	r.sender.Close()
}

func (r *runner) run(ctx context.Context) {
	defer close(r.done)
	s := r.s
	id := r.ep.Load().ID
	var cons jetstream.Consumer
	for cons == nil {
		c, err := s.o.JS.CreateOrUpdateConsumer(ctx, s.o.Names.DeliveryStream(), jetstream.ConsumerConfig{
			Durable: s.o.Names.DeliveryDurable(id), FilterSubject: s.o.Names.DeliverySubject(id),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: s.o.AckWait, MaxAckPending: r.shape.concurrency,
			MaxDeliver: -1,
		})
		if err == nil {
			cons = c
			break
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn().Err(err).Str("endpoint", id).Msg("delivery: endpoint consumer not ready; retrying")
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	// The pull requests ask for more than the consumer hands out
	// (MaxAckPending, the endpoint's concurrency, bounds what is
	// delivered and not yet acknowledged): the iterator asks again when
	// half of a request is used, so a larger request means fewer requests
	// per delivery, and holds no more messages.
	it, err := cons.Messages(pullOpts(max(4*r.shape.concurrency, 32))...)
	if err != nil {
		s.log.Warn().Err(err).Str("endpoint", id).Msg("delivery: endpoint consumer")
		return
	}
	go func() { <-ctx.Done(); it.Stop() }()
	// Each worker takes its next message from the iterator itself (Next
	// is serialised by the iterator's lock): a message goes from the
	// connection's reader to the worker that sends it, through no other
	// goroutine.
	var wg sync.WaitGroup
	for range r.shape.concurrency {
		wg.Go(func() {
			for r.next(ctx, it, id) {
			}
		})
	}
	wg.Wait()
}

// next takes one message from it and handles it; false when the runner
// ends (ctx ended, or its consumer is gone), when it stops it for every
// worker.
func (r *runner) next(ctx context.Context, it jetstream.MessagesContext, id string) bool {
	s := r.s
	m, err := it.Next()
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return false
		}
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			// Reset (the endpoint was disabled) or removed: the
			// manager starts a runner again if it is enabled.
			s.log.Info().Str("endpoint", id).Msg("delivery: endpoint consumer gone; runner ends")
			it.Stop()
			return false
		}
		if errors.Is(err, jetstream.ErrNoHeartbeat) {
			// The iterator asks again (see pullOpts).
			s.log.Debug().Err(err).Str("endpoint", id).Msg("delivery: fetch")
			return true
		}
		s.log.Warn().Err(err).Str("endpoint", id).Msg("delivery: fetch")
		return true
	}
	r.handle(ctx, m)
	return true
}

// handle makes one attempt and settles its message: ack on 2xx, the
// endpoint disabled on 410, else a retry after the schedule's delay (or
// Retry-After) or, once the schedule is exhausted, a dead letter.
func (r *runner) handle(ctx context.Context, m jetstream.Msg) {
	s := r.s
	ep := r.ep.Load()
	meta, err := m.Metadata()
	if err != nil {
		_ = m.Term()
		return
	}
	factID := m.Headers().Get(deliveryq.HeaderFactID)
	if r.off.Load() {
		_ = m.NakWithDelay(time.Second) // kept for when it is enabled again
		return
	}
	n := r.attemptNumber(ctx, meta, ep.ID, factID)
	if !r.waitRate(ctx, m) {
		return
	}
	start := time.Now()
	res := r.sender.Send(ctx, webhook.Message{URL: ep.URL, Secrets: ep.ActiveSecrets(start), Headers: ep.Headers,
		ID: factID, Body: m.Data(), At: start})
	if ctx.Err() != nil {
		return // stopping: another process (or the next start) takes it after the ack wait
	}
	seq := meta.Sequence.Stream
	if res.OK() {
		// Acknowledged first: the ack frees the consumer's slot
		// (MaxAckPending is the endpoint's concurrency) for the next
		// delivery, so nothing else waits before it.
		if err := m.Ack(); err != nil {
			log := r.logger(ep.ID, factID, n)
			log.Warn().Err(err).Msg("delivery: ack not sent; the fact comes again with the same webhook-id")
		}
		s.made.done(seq)
	} else {
		s.made.set(seq, n)
	}
	att := store.EndpointAttempt{EndpointID: ep.ID, FactID: factID, Attempt: n, At: start, Status: res.Status,
		LatencyMS: res.Latency.Milliseconds(), Response: res.Response}
	if res.Err != nil {
		att.Error = res.Err.Error()
	} else if !res.OK() {
		att.Error = "HTTP " + strconv.Itoa(res.Status)
	}
	r.attemptSeconds.Observe(res.Latency.Seconds())
	switch {
	case res.OK():
		r.attemptsOK.Inc()
		if t, err := time.Parse(time.RFC3339Nano, m.Headers().Get(deliveryq.HeaderFactPublished)); err == nil {
			s.m.lag.Observe(time.Since(t).Seconds())
		}
		s.rec.add(att)
		r.succeeded(ctx)
	case res.Status == 410:
		s.m.attempts.WithLabelValues(ep.ID, "gone").Inc()
		s.rec.add(att)
		r.disable(ctx, ep, "the endpoint answered 410 Gone")
		_ = m.NakWithDelay(time.Second) // kept for when it is enabled again
	default:
		s.m.attempts.WithLabelValues(ep.ID, outcome(res)).Inc()
		log := r.logger(ep.ID, factID, n)
		var ra time.Duration
		if res.Status == 429 || res.Status == 503 {
			ra = res.RetryAfter
		}
		delay, ok := Delay(s.o.Schedule, s.o.Jitter, n, ra)
		if !ok {
			r.deadLetter(ctx, m, att, log)
		} else {
			next := start.Add(res.Latency + delay)
			att.NextAttemptAt = &next
			s.rec.add(att)
			if err := m.NakWithDelay(delay); err != nil {
				log.Warn().Err(err).Msg("delivery: nak lost; the fact comes again after the ack wait")
			}
		}
		r.failed(ctx, start)
	}
}

// logger is the logger of one attempt (made only when something is
// logged: not per delivery).
func (r *runner) logger(endpointID, factID string, attempt int) zerolog.Logger {
	return r.s.log.With().Str("endpoint", endpointID).Str("fact_id", factID).Int("attempt", attempt).Logger()
}

func outcome(res webhook.Result) string {
	switch {
	case res.Err != nil:
		return "error"
	case res.Status >= 500:
		return "http_5xx"
	case res.Status >= 400:
		return "http_4xx"
	default:
		return "http_other"
	}
}

// waitRate waits for the endpoint's rate limit, telling JetStream the
// message is in progress meanwhile (a wait longer than the ack wait would
// otherwise hand it to another worker); false when ctx ended.
func (r *runner) waitRate(ctx context.Context, m jetstream.Msg) bool {
	if r.limiter == nil {
		return true
	}
	res := r.limiter.Reserve()
	for d := res.Delay(); d > 0; {
		step := min(d, r.s.o.AckWait/3)
		select {
		case <-ctx.Done():
			res.Cancel()
			return false
		case <-time.After(step):
		}
		if d -= step; d > 0 {
			_ = m.InProgress()
		}
	}
	return true
}
