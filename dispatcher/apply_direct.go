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
	errs := make([]error, len(envs))
	type ref struct {
		idx int
		env *events.Envelope
	}
	groups := map[string][]ref{}
	var order []string
	for i, env := range envs {
		key := env.Tenant + "\x00" + env.Kind + "\x00" + env.ContractID
		if env.Kind != events.KindContract {
			key += "\x00" + env.ID
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], ref{i, env})
	}
	for _, key := range order {
		g := groups[key]
		if g[0].env.Kind != events.KindContract {
			for _, r := range g {
				errs[r.idx] = d.applyCertification(ctx, r.env)
			}
			continue
		}
		dls := make([]delivery, len(g))
		for i, r := range g {
			dls[i] = delivery{env: r.env}
		}
		hb := &heartbeats{done: make(chan struct{})}
		res := d.applyContractGroup(ctx, dls, hb)
		for i, r := range g {
			errs[r.idx] = res[i]
		}
	}
	return errs
}

// FlushOutbox publishes every pending fact now.
func (d *Dispatcher) FlushOutbox(ctx context.Context) (int, error) { return d.relay.Flush(ctx) }

// Classify tells whether err (from Apply) is permanent, with its reason code.
func Classify(err error) (isPermanent bool, reason string) { return classify(err) }
