package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qyshook/qyshook/store"
)

// Ledger retention. The events table (the history behind each contract's
// timeline) and the outbox (facts, kept after publishing for inspection)
// grow with every callback; the dispatcher, the ledger's writer, deletes
// what is past its window, a small batch per transaction so its own
// commits keep their pace:
//   - events applied more than EventRetention ago, except each contract's
//     newest event and any event a dead letter names (store.Retention);
//   - outbox facts published more than OutboxRetention ago. An unpublished
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

// runLedgerRetention prunes until ctx ends.
func (d *Dispatcher) runLedgerRetention(ctx context.Context) {
	if _, ok := d.cfg.Ledger.(store.Retention); !ok {
		d.log.Warn().Msg("this ledger offers no retention; events and published facts are kept")
		return
	}
	if d.cfg.EventRetention < 0 && d.cfg.OutboxRetention < 0 {
		return
	}
	for {
		if ev, ob, err := d.PruneLedger(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("ledger retention failed; retrying")
		} else if ev+ob > 0 {
			d.log.Info().Int64("events", ev).Int64("facts", ob).Msg("ledger retention: old rows deleted")
		}
		if !sleep(ctx, pruneEvery) {
			return
		}
	}
}

// PruneLedger makes one retention pass (see above) and returns the events
// and facts it deleted. A negative retention keeps that table whole.
func (d *Dispatcher) PruneLedger(ctx context.Context) (events, facts int64, err error) {
	r, ok := d.cfg.Ledger.(store.Retention)
	if !ok {
		return 0, 0, errors.New("dispatcher: the ledger offers no retention")
	}
	now := time.Now()
	if d.cfg.OutboxRetention >= 0 {
		facts, err = d.pruneAll(ctx, "outbox", func(ctx context.Context) (int64, error) {
			return r.PrunePublished(ctx, now.Add(-d.cfg.OutboxRetention), pruneBatch)
		})
		if err != nil {
			return 0, facts, err
		}
	}
	if d.cfg.EventRetention >= 0 {
		events, err = d.pruneAll(ctx, "events", func(ctx context.Context) (int64, error) {
			return r.PruneEvents(ctx, now.Add(-d.cfg.EventRetention), pruneBatch)
		})
	}
	return events, facts, err
}

// pruneAll runs prune until a batch comes back short.
func (d *Dispatcher) pruneAll(ctx context.Context, table string, prune func(context.Context) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := prune(ctx)
		total += n
		d.metrics.pruned.WithLabelValues(table).Add(float64(n))
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		if n < pruneBatch || !sleep(ctx, prunePause) {
			return total, ctx.Err()
		}
	}
}
