// Package relay is the outbox stage: it publishes the facts the ledger
// wrote with each change (the outbox table) to QYS_LEDGER. It is the only
// reader of the outbox; the retention stage deletes published facts
// (package retention). The dispatcher kicks it after each commit through a
// hook (Kick), so the two stages never import each other.
package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// Relay publishes the ledger's outbox to QYS_LEDGER. Each fact is
// published with Nats-Msg-Id = its id and marked published only after the
// PubAck, so a crash between the two republishes it and the stream drops
// the repeat: no fact is lost or doubled.
type Relay struct {
	js        jetstream.JetStream
	ledger    Ledger
	log       zerolog.Logger
	published prometheus.Counter
	kick      chan struct{}
	interval  time.Duration
}

// Ledger is what the relay needs of the ledger (store.Ledger has it).
type Ledger interface {
	Outbox(ctx context.Context, limit int) ([]store.Fact, error)
	MarkPublished(ctx context.Context, ids []string) error
}

// Options configure a Relay. JS and Ledger are required.
type Options struct {
	JS     jetstream.JetStream
	Ledger Ledger
	Logger zerolog.Logger
	// Registerer receives qyshook_dispatcher_facts_published_total (the
	// name dashboards know); nil: not registered.
	Registerer prometheus.Registerer
	// Interval is how often the outbox is polled without a kick (default
	// DefaultInterval).
	Interval time.Duration
}

// DefaultInterval is how often the outbox is polled without a kick.
const DefaultInterval = 500 * time.Millisecond

// New returns a relay; Run starts it.
func New(o Options) (*Relay, error) {
	if o.JS == nil || o.Ledger == nil {
		return nil, errors.New("relay: JetStream and a ledger are required")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	published := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "qyshook_dispatcher_facts_published_total", Help: "Ledger facts published to QYS_LEDGER.",
	})
	if o.Registerer != nil {
		if err := o.Registerer.Register(published); err != nil {
			return nil, fmt.Errorf("relay: metrics: %w", err)
		}
	}
	return &Relay{js: o.JS, ledger: o.Ledger, log: o.Logger, published: published, kick: make(chan struct{}, 1),
		interval: o.Interval}, nil
}

// Kick asks for an outbox pass now.
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run publishes until ctx is done, then makes one last pass (so stop it
// after the stages that write facts have returned).
func (r *Relay) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = r.Flush(fctx)
			cancel()
			return nil
		case <-t.C:
		case <-r.kick:
		}
		if _, err := r.Flush(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn().Err(err).Msg("outbox relay: will retry")
		}
	}
}

// Flush publishes every pending fact and returns how many it published.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		facts, err := r.ledger.Outbox(ctx, 256)
		if err != nil {
			return total, fmt.Errorf("outbox: %w", err)
		}
		if len(facts) == 0 {
			return total, nil
		}
		ids, pubErr := r.publish(ctx, facts)
		if len(ids) > 0 {
			if err := r.ledger.MarkPublished(ctx, ids); err != nil {
				return total, fmt.Errorf("mark published: %w", err)
			}
			total += len(ids)
			r.published.Add(float64(len(ids)))
		}
		if pubErr != nil {
			return total, pubErr
		}
	}
}

// publish sends facts asynchronously, in order, and returns the ids of
// the leading run that was acknowledged (and, where the store syncs in
// groups, synced) with the first error. A fact after a failure may be
// stored too: it is published again later and deduplicated by its id.
func (r *Relay) publish(ctx context.Context, facts []store.Fact) ([]string, error) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(facts))
	var pubErr error
	spans := publishSpans{}
	defer spans.end()
	for _, f := range facts {
		fut, err := r.publishFact(ctx, f, &spans)
		if err != nil {
			pubErr = fmt.Errorf("publish fact %s: %w", f.ID, err)
			break
		}
		futures = append(futures, fut)
	}
	ids := make([]string, 0, len(futures))
wait:
	for i, fut := range futures {
		select {
		case <-fut.Ok():
			ids = append(ids, facts[i].ID)
		case err := <-fut.Err():
			pubErr = fmt.Errorf("publish fact %s: %w", facts[i].ID, err)
			break wait
		case <-pctx.Done():
			pubErr = fmt.Errorf("publish fact %s: waiting for its ack: %w", facts[i].ID, pctx.Err())
			break wait
		}
	}
	// An embedded store that syncs acknowledged writes in groups is
	// synced once for the batch before the facts count as published.
	if len(ids) > 0 {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := events.SyncAcked(sctx, r.js); err != nil {
			return nil, fmt.Errorf("sync published facts: %w", err)
		}
	}
	return ids, pubErr
}
