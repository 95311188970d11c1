package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

// Options configure the stage.
type Options struct {
	// JS and Names: the streams (QYS_LEDGER is read, QYS_DELIVERY
	// provisioned and used).
	JS    jetstream.JetStream
	Names events.Names
	// Store holds the endpoints, attempts and dead letters.
	Store store.EndpointStore
	// Schedule is the delay before each retry (default DefaultSchedule);
	// Jitter spreads them (default DefaultJitter; negative: none).
	Schedule []time.Duration
	Jitter   float64
	// Timeout bounds one attempt (default DefaultTimeout).
	Timeout time.Duration
	// AckWait is how long an attempt's message stays with a process
	// before another may take it (default Timeout + 15 s).
	AckWait time.Duration
	// DisableAfter: failing only for this long disables an endpoint
	// (default DefaultDisableAfter; the warning fact comes at half).
	DisableAfter time.Duration
	// AttemptRetention: attempts older are deleted (default
	// DefaultAttemptRetention).
	AttemptRetention time.Duration
	// FanoutBatch bounds the facts the fan-out has in hand, across every
	// process (default DefaultFanoutBatch).
	FanoutBatch int
	// Refresh is how often the endpoints are read again (default
	// DefaultRefresh).
	Refresh time.Duration
	// Replicas of QYS_DELIVERY (default 1; never lowered).
	Replicas int
	// QueueMaxAge is how long QYS_DELIVERY keeps a delivery (default
	// QueueMaxAge(Schedule)); one still queued then, for an endpoint
	// disabled that long, is dropped and counted as expired.
	QueueMaxAge time.Duration
	// Logger logs failures (default zerolog.Nop()); secrets are never logged.
	Logger zerolog.Logger
	// Registerer, when set, receives the metrics.
	Registerer prometheus.Registerer
}

// ErrInvalidOption wraps every problem New finds in Options.
var ErrInvalidOption = errors.New("delivery: invalid option")

// Stage delivers facts to endpoints.
type Stage struct {
	o   Options
	m   *metrics
	rec *recorder
	log zerolog.Logger
	// made counts the attempts of the deliveries in hand.
	made made
	// held is the deliveries queued for each disabled endpoint at the
	// last sweep (manage's goroutine only).
	held map[string]uint64
}

// New checks o and fills its defaults.
func New(o Options) (*Stage, error) {
	var errs []error
	if o.JS == nil {
		errs = append(errs, errors.New("no JetStream"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("no store"))
	}
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	for _, d := range o.Schedule {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("schedule: delay %s is not positive", d))
		}
	}
	if o.Jitter == 0 {
		o.Jitter = DefaultJitter
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	}
	if o.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("jitter %v: want below 1", o.Jitter))
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.AckWait <= 0 {
		o.AckWait = o.Timeout + 15*time.Second
	}
	if o.AckWait <= o.Timeout {
		errs = append(errs, fmt.Errorf("ack wait %s: want above the timeout %s", o.AckWait, o.Timeout))
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = DefaultDisableAfter
	}
	if o.AttemptRetention <= 0 {
		o.AttemptRetention = DefaultAttemptRetention
	}
	if o.FanoutBatch <= 0 {
		o.FanoutBatch = DefaultFanoutBatch
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.QueueMaxAge <= 0 {
		o.QueueMaxAge = QueueMaxAge(o.Schedule)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Stage{o: o, m: m, log: o.Logger, rec: newRecorder(o.Store, o.Logger)}, nil
}

// Run delivers until ctx ends: it provisions QYS_DELIVERY, runs the
// fan-out and one runner per enabled endpoint, and prunes old attempts.
func (s *Stage) Run(ctx context.Context) error {
	if err := s.provision(ctx); err != nil {
		return err
	}
	// The recorder outlives the runners: it takes its last batch once
	// manage has stopped them all, so an attempt a worker adds just as
	// ctx ends is written, not left in the list after the final take.
	rctx, stopRec := context.WithCancel(context.WithoutCancel(ctx))
	recDone := make(chan struct{})
	go func() { defer close(recDone); s.rec.run(rctx) }()
	var wg sync.WaitGroup
	wg.Go(func() { s.fanout(ctx) })
	wg.Go(func() { s.prune(ctx) })
	s.manage(ctx)
	wg.Wait()
	stopRec()
	<-recDone
	return nil
}

// provision creates QYS_DELIVERY, retrying while NATS is not ready.
func (s *Stage) provision(ctx context.Context) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := deliveryq.Provision(pctx, s.o.JS, s.o.Names, s.o.Replicas, s.o.QueueMaxAge)
		cancel()
		if err == nil {
			return nil
		}
		s.log.Warn().Err(err).Msg("delivery: stream not ready; retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// manage starts a runner for each enabled endpoint and stops those of
// endpoints disabled, changed or deleted, reading the endpoints every
// Refresh.
func (s *Stage) manage(ctx context.Context) {
	running := map[string]*runner{}
	defer func() {
		for _, r := range running {
			r.stop()
		}
	}()
	t := time.NewTicker(s.o.Refresh)
	defer t.Stop()
	var swept time.Time
	for {
		readAt := time.Now()
		eps, err := s.o.Store.Endpoints(ctx, "")
		if err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("delivery: read endpoints")
		}
		if err == nil {
			seen := map[string]bool{}
			enabled := 0
			for i := range eps {
				ep := eps[i]
				if !ep.Enabled {
					continue
				}
				enabled++
				seen[ep.ID] = true
				r := running[ep.ID]
				if r != nil && (r.shape != shapeOf(&ep) || r.finished()) {
					r.stop()
					r = nil
				}
				if r == nil {
					running[ep.ID] = s.start(ctx, &ep)
					continue
				}
				r.update(&ep, readAt)
			}
			for id, r := range running {
				if !seen[id] {
					r.stop()
					delete(running, id)
					if ep := find(eps, id); ep != nil && !ep.Enabled {
						s.resetQueue(ctx, id)
					}
				}
			}
			if time.Since(swept) >= 10*s.o.Refresh {
				s.sweep(ctx)
				swept = time.Now()
			}
			s.m.endpoints.WithLabelValues("enabled").Set(float64(enabled))
			s.m.endpoints.WithLabelValues("disabled").Set(float64(len(eps) - enabled))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func find(eps []store.Endpoint, id string) *store.Endpoint {
	for i := range eps {
		if eps[i].ID == id {
			return &eps[i]
		}
	}
	return nil
}

// QueueMaxAge is how long QYS_DELIVERY keeps a delivery with schedule:
// deliveryq.DefaultMaxAge, or longer than twice the schedule plus the
// longest Retry-After.
func QueueMaxAge(schedule []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range schedule {
		sum += d
	}
	return max(deliveryq.DefaultMaxAge, 2*sum+webhook.MaxRetryAfter)
}

// resetQueue deletes an endpoint's consumer (not its queued deliveries)
// when it is disabled: the runner started when it is enabled again makes
// it afresh, and every delivery held by it (a retry nak'd for hours, or
// the one an ordered endpoint waits on) is due at once, in queue order.
func (s *Stage) resetQueue(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.o.JS.DeleteConsumer(ctx, s.o.Names.DeliveryStream(), s.o.Names.DeliveryDurable(id))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.log.Warn().Err(err).Str("endpoint", id).Msg("delivery: reset the queue of a disabled endpoint")
	}
}

// sweep purges the queued deliveries of endpoints that no longer exist (a
// fan-out that read the endpoints before a delete may queue after the
// delete purged). The subjects are read before the endpoints, so an
// endpoint created meanwhile is never taken for a deleted one.
func (s *Stage) sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	str, err := s.o.JS.Stream(ctx, s.o.Names.DeliveryStream())
	if err != nil {
		return
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(s.o.Names.DeliveryWildcard()))
	if err != nil {
		return
	}
	eps, err := s.o.Store.Endpoints(ctx, "")
	if err != nil {
		return
	}
	s.countExpired(eps, info.State.Subjects)
	exists := make(map[string]bool, len(eps))
	for i := range eps {
		exists[s.o.Names.DeliverySubject(eps[i].ID)] = true
	}
	for subj := range info.State.Subjects {
		if exists[subj] {
			continue
		}
		if err := str.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			s.log.Warn().Err(err).Str("subject", subj).Msg("delivery: purge the deliveries of a deleted endpoint")
			continue
		}
		s.log.Info().Str("subject", subj).Msg("delivery: purged the deliveries of a deleted endpoint")
	}
}

// countExpired counts the deliveries JetStream dropped at QueueMaxAge:
// the queue of an endpoint disabled for longer than the ack wait (no
// runner acknowledges its deliveries any more) only shrinks by expiry, or
// by a purge on delete, and a deleted endpoint is not in eps.
func (s *Stage) countExpired(eps []store.Endpoint, subjects map[string]uint64) {
	if s.held == nil {
		s.held = map[string]uint64{}
	}
	settled := time.Now().Add(-s.o.AckWait - 2*s.o.Refresh)
	seen := make(map[string]bool, len(eps))
	for i := range eps {
		ep := &eps[i]
		if ep.Enabled || ep.DisabledAt == nil || ep.DisabledAt.After(settled) {
			continue
		}
		seen[ep.ID] = true
		n := subjects[s.o.Names.DeliverySubject(ep.ID)]
		if prev, ok := s.held[ep.ID]; ok && n < prev {
			s.m.expired.WithLabelValues(ep.ID).Add(float64(prev - n))
			s.log.Warn().Str("endpoint", ep.ID).Uint64("deliveries", prev-n).Dur("max_age", s.o.QueueMaxAge).
				Msg("delivery: deliveries to a disabled endpoint expired from the queue; replay --since queues them again")
		}
		s.held[ep.ID] = n
	}
	for id := range s.held {
		if !seen[id] {
			delete(s.held, id)
		}
	}
}

// prune deletes attempts older than AttemptRetention, hourly.
func (s *Stage) prune(ctx context.Context) {
	for {
		s.made.prune(time.Now().Add(-s.o.QueueMaxAge))
		n, err := s.o.Store.PruneEndpointAttempts(ctx, time.Now().Add(-s.o.AttemptRetention))
		if err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("delivery: prune attempts")
		} else if n > 0 {
			s.log.Info().Int64("attempts", n).Msg("delivery: pruned attempts")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}
