package dispatcher

import (
	"context"

	"github.com/qyshook/qyshook/events"
)

// Apply applies envelopes outside the consumer — replays, dead-letter
// retries, re-ingested files — through the same path as the stream:
// grouped by contract (one detail fetch per contract), confirmed through
// the API, idempotent on event ids, documents archived on COMPLETE, facts
// written to the outbox. It returns one error per envelope (nil when
// applied or already applied). Call FlushOutbox afterwards to publish the
// facts now rather than when a running dispatcher's relay gets to them.
func (d *Dispatcher) Apply(ctx context.Context, envs []*events.Envelope) []error {
	dls := make([]delivery, len(envs))
	for i, env := range envs {
		dls[i] = delivery{env: env}
	}
	groups := groupDeliveries(dls)
	d.work(ctx, groups)
	errs := make([]error, 0, len(envs))
	index := map[*events.Envelope]error{}
	for _, g := range groups {
		for i, dl := range g.deliveries {
			index[dl.env] = g.errs[i]
		}
	}
	for _, env := range envs {
		errs = append(errs, index[env])
	}
	return errs
}

// FlushOutbox publishes every pending fact now.
func (d *Dispatcher) FlushOutbox(ctx context.Context) (int, error) { return d.relay.Flush(ctx) }

// Classify tells whether err (from Apply) is permanent, with its reason code.
func Classify(err error) (isPermanent bool, reason string) { return classify(err) }
