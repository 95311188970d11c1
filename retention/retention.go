// Package retention is the ledger's retention stage: it deletes applied
// events and published facts past their windows.
package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/store"
)

// Ledger retention. The events table (the history behind each contract's
// timeline) and the outbox (facts, kept after publishing for inspection)
// grow with every callback; this stage deletes what is past its window, a small batch per transaction so its own
// commits keep their pace:
//   - events applied more than Events ago, except each contract's
//     newest event and any event a dead letter names (store.Retention);
//   - outbox facts published more than Facts ago. An unpublished
//     fact is never deleted.
// The contracts, signatories, documents and certifications themselves are
// never deleted. A pruned event's id is forgotten: a redelivery of it, long
// after the stream's duplicate window, is applied again: with API
// credentials the contract has moved on and it changes nothing
// (store.Advances); without them (unconfirmed, from callbacks) an old
// callback of the current status can restore its older payload and add a
// fact (docs/ledger.md, Retention).

// pruneBatch is the most rows one retention statement deletes.
const pruneBatch = 1000

// pruneEvery is how often the retention pass runs.
const pruneEvery = 10 * time.Minute

// prunePause separates two batches of one pass, so the writer connection
// (SQLite has one) serves the dispatcher's commits in between.
const prunePause = 20 * time.Millisecond

// Default windows of the ledger's history.
const (
	DefaultEvents = 90 * 24 * time.Hour
	DefaultFacts  = 7 * 24 * time.Hour
)

// Options configure a Pruner. Ledger is required.
type Options struct {
	// Ledger is the ledger to prune.
	Ledger store.Retention
	// Events is how long applied events stay (default DefaultEvents;
	// negative: for ever); Facts how long published facts stay in the
	// outbox (default DefaultFacts; negative: for ever).
	Events time.Duration
	Facts  time.Duration
	// Every is how often a pass runs (default pruneEvery).
	Every  time.Duration
	Logger zerolog.Logger
	// Registerer receives qyshook_ledger_rows_pruned_total (nil: not
	// registered).
	Registerer prometheus.Registerer
}

// Pruner deletes the ledger's rows past their windows.
type Pruner struct {
	o      Options
	r      store.Retention
	pruned *prometheus.CounterVec
}

// New returns a Pruner; Run starts it.
func New(o Options) (*Pruner, error) {
	if o.Ledger == nil {
		return nil, errors.New("retention: ledger required")
	}
	if o.Events == 0 {
		o.Events = DefaultEvents
	}
	if o.Facts == 0 {
		o.Facts = DefaultFacts
	}
	if o.Every <= 0 {
		o.Every = pruneEvery
	}
	p := &Pruner{o: o, r: o.Ledger, pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qyshook_ledger_rows_pruned_total",
		Help: "Ledger rows deleted by retention, by table (events, outbox).",
	}, []string{"table"})}
	if o.Registerer != nil {
		if err := o.Registerer.Register(p.pruned); err != nil {
			return nil, fmt.Errorf("retention: metrics: %w", err)
		}
	}
	return p, nil
}

// Run prunes until ctx ends.
func (p *Pruner) Run(ctx context.Context) error {
	if p.o.Events < 0 && p.o.Facts < 0 {
		return nil
	}
	for {
		if ev, ob, err := p.Prune(ctx); err != nil && ctx.Err() == nil {
			p.o.Logger.Warn().Err(err).Msg("ledger retention failed; retrying")
		} else if ev+ob > 0 {
			p.o.Logger.Info().Int64("events", ev).Int64("facts", ob).Msg("ledger retention: old rows deleted")
		}
		if !backoff.Sleep(ctx, p.o.Every) {
			return nil
		}
	}
}

// Prune makes one retention pass (see above) and returns the events and
// facts it deleted. A negative window keeps that table whole.
func (p *Pruner) Prune(ctx context.Context) (events, facts int64, err error) {
	now := time.Now()
	if p.o.Facts >= 0 {
		facts, err = p.pruneAll(ctx, "outbox", func(ctx context.Context) (int64, error) {
			return p.r.PrunePublished(ctx, now.Add(-p.o.Facts), pruneBatch)
		})
		if err != nil {
			return 0, facts, err
		}
	}
	if p.o.Events >= 0 {
		events, err = p.pruneAll(ctx, "events", func(ctx context.Context) (int64, error) {
			return p.r.PruneEvents(ctx, now.Add(-p.o.Events), pruneBatch)
		})
	}
	return events, facts, err
}

// pruneAll runs prune until a batch comes back short.
func (p *Pruner) pruneAll(ctx context.Context, table string, prune func(context.Context) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := prune(ctx)
		total += n
		p.pruned.WithLabelValues(table).Add(float64(n))
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		if n < pruneBatch || !backoff.Sleep(ctx, prunePause) {
			return total, ctx.Err()
		}
	}
}
