package dispatcher

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// delivery is one message of a batch with its decoded envelope (env is
// nil when the message does not decode).
type delivery struct {
	msg  jetstream.Msg
	env  *events.Envelope
	meta *jetstream.MsgMetadata
	// parent is the callback's trace context from the message's
	// traceparent header (invalid when it has none).
	parent trace.SpanContext
}

// group is the deliveries of one contract (or one certification) in a
// batch: they share one detail fetch.
type group struct {
	deliveries   []delivery
	errs         []error // one per delivery
	api          API
	detail       *qys.Contract
	fetchedAt    time.Time // when the detail fetch began
	fetchEndedAt time.Time // when its answer was read
}

func (g *group) failAll(err error) {
	for i := range g.errs {
		if g.errs[i] == nil {
			g.errs[i] = err
		}
	}
}

func (g *group) isContract() bool { return g.deliveries[0].env.Kind == events.KindContract }

func (g *group) isNotice() bool { return events.IsNoticeKind(g.deliveries[0].env.Kind) }

// groupDeliveries groups by tenant and contract (certifications alone).
func groupDeliveries(dls []delivery) []*group {
	byKey := map[string]*group{}
	var order []*group
	for _, dl := range dls {
		env := dl.env
		key := env.Tenant + "\x00" + env.Kind + "\x00" + env.ContractID
		if env.Kind != events.KindContract && env.Auth != nil {
			key += "\x00" + env.Auth.RequestID // one request's events in stream order
		}
		g := byKey[key]
		if g == nil {
			g = &group{}
			byKey[key] = g
			order = append(order, g)
		}
		g.deliveries = append(g.deliveries, dl)
		g.errs = append(g.errs, nil)
	}
	return order
}

// processBatch decodes a fetched batch, works it, and settles every
// message before it returns.
func (d *Dispatcher) processBatch(ctx context.Context, msgs []jetstream.Msg) {
	var dls []delivery
	for _, m := range msgs {
		meta, err := m.Metadata()
		if err != nil {
			// Not a JetStream delivery (no $JS.ACK reply subject): nothing
			// the stream stored, so nothing to apply or settle.
			d.log.Warn().Err(err).Str("subject", m.Subject()).Msg("a message that is not a stream delivery was ignored")
			continue
		}
		env, err := events.Decode(m.Data())
		if err == nil {
			err = checkStorable(env)
		}
		if err != nil {
			d.settle(ctx, delivery{msg: m, env: env, meta: meta}, err)
			continue
		}
		dls = append(dls, delivery{msg: m, env: env, meta: meta, parent: parentOf(ctx, m)})
	}
	if len(dls) == 0 {
		return
	}
	hb := d.heartbeat(dls)
	groups := groupDeliveries(dls)
	d.work(ctx, groups)
	hb.stop() // a heartbeat after a NAK would cancel its delay
	for _, g := range groups {
		for i, dl := range g.deliveries {
			d.settle(ctx, dl, g.errs[i])
		}
	}
}

// work applies groups in two phases: confirm every contract through the
// API in parallel (one detail fetch per contract); then commit all the
// contract changes in one transaction (per group if the batch fails, so
// one bad change cannot hold back the others). Certifications are applied
// in the first phase. Nothing slower rides on the callback path: the
// documents of signed contracts are queued by the commit and fetched by
// the archive stage (package archiver), after the acks.
func (d *Dispatcher) work(ctx context.Context, groups []*group) {
	start := time.Now()
	d.parallel(groups, func(g *group) {
		if g.isContract() {
			d.confirm(ctx, g)
			return
		}
		if g.isNotice() {
			for i, dl := range g.deliveries {
				g.errs[i] = d.applyNotice(ctx, dl.env, dl.meta.Sequence.Stream)
			}
			return
		}
		for i, dl := range g.deliveries {
			g.errs[i] = d.applyCertification(ctx, dl.env, dl.meta.Sequence.Stream)
		}
	})
	d.commit(ctx, groups)
	d.metrics.groupSeconds.Observe(time.Since(start).Seconds())
}

// parallel runs f on each group with at most Workers at once.
func (d *Dispatcher) parallel(groups []*group, f func(*group)) {
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(g)
		}()
	}
	wg.Wait()
}

// commit writes the contract changes of the confirmed groups.
func (d *Dispatcher) commit(ctx context.Context, groups []*group) {
	var ready []*group
	for _, g := range groups {
		if g.isContract() && g.errs[0] == nil {
			ready = append(ready, g)
		}
	}
	if len(ready) == 0 {
		return
	}
	if err := d.commitGroups(ctx, ready); err == nil {
		return
	}
	for _, g := range ready { // isolate the failure
		if err := d.commitGroups(ctx, []*group{g}); err != nil {
			g.failAll(wrapf(err, "apply %s", g.deliveries[0].env.ContractID))
		}
	}
}

// commitGroups applies the groups' changes in one transaction.
func (d *Dispatcher) commitGroups(ctx context.Context, groups []*group) error {
	var changes []store.ContractChange
	spans := commitSpans{}
	defer spans.end()
	for _, g := range groups {
		for _, dl := range g.deliveries {
			ch := d.change(dl.env, g.detail)
			ch.Event.StreamSeq = dl.meta.Sequence.Stream // for the receipt log's leaf
			if g.detail != nil {
				// Orders this view against other appliers'.
				ch.Contract.FetchedAt, ch.Contract.FetchEndedAt = g.fetchedAt, g.fetchEndedAt
			}
			spans.start(ctx, dl, &ch)
			changes = append(changes, ch)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.EventTimeout)
	defer cancel()
	outs, errs, err := d.cfg.Ledger.ApplyContracts(cctx, changes)
	if err != nil {
		spans.fail(err)
		return err
	}
	i := 0
	for _, g := range groups {
		for j, dl := range g.deliveries {
			d.recordApplied(dl.env, changes[i].Contract, outs[i], errs[i])
			switch {
			case errs[i] != nil && !isDuplicate(errs[i]):
				g.errs[j] = errs[i]
			case errs[i] == nil && outs[i].Stale:
				// The fetch overlapped the row's: fetch it again on
				// redelivery rather than drop a view that may be newer.
				g.errs[j] = errStaleFetch
			}
			i++
		}
	}
	return nil
}

// heartbeats keeps deliveries alive (InProgress) during long work such as
// a download, so AckWait never redelivers a message still being worked.
type heartbeats struct {
	msgs    []jetstream.Msg
	done    chan struct{} // closed by stop
	stopped chan struct{} // closed when the ticker goroutine has returned
	once    sync.Once
}

func (d *Dispatcher) heartbeat(dls []delivery) *heartbeats {
	h := &heartbeats{done: make(chan struct{}), stopped: make(chan struct{})}
	for _, dl := range dls {
		if dl.msg != nil {
			h.msgs = append(h.msgs, dl.msg)
		}
	}
	if len(h.msgs) == 0 {
		close(h.stopped)
		return h
	}
	every := d.cfg.AckWait / 3
	go func() {
		defer close(h.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				for _, m := range h.msgs {
					select {
					case <-h.done:
						return
					default:
					}
					_ = m.InProgress()
				}
			}
		}
	}()
	return h
}

// stop ends the heartbeats and returns once the last InProgress has been
// sent: a heartbeat after a NakWithDelay would restart the message's
// AckWait and cancel the delay.
func (h *heartbeats) stop() {
	h.once.Do(func() { close(h.done) })
	<-h.stopped
}
