package dispatcher

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
)

// delivery is one message of a batch with its decoded envelope.
type delivery struct {
	msg  jetstream.Msg
	env  *events.Envelope
	meta *jetstream.MsgMetadata
}

// group is the deliveries of one contract (or one certification) in a
// batch: they share one detail fetch.
type group struct {
	key        string
	deliveries []delivery
}

// processBatch decodes the batch, groups it by contract and works the
// groups on Workers goroutines. Every message is settled before it returns.
func (d *Dispatcher) processBatch(ctx context.Context, msgs []jetstream.Msg) {
	groups := d.groupBatch(ctx, msgs)
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Add(1)
		go func(g *group) {
			defer wg.Done()
			defer func() { <-sem }()
			d.processGroup(ctx, g)
		}(g)
	}
	wg.Wait()
}

func (d *Dispatcher) groupBatch(ctx context.Context, msgs []jetstream.Msg) []*group {
	byKey := map[string]*group{}
	var order []*group
	for _, m := range msgs {
		meta, _ := m.Metadata()
		env, err := events.Decode(m.Data())
		if err != nil {
			d.settle(ctx, delivery{msg: m, meta: meta}, err)
			continue
		}
		key := env.Tenant + "\x00" + env.Kind + "\x00" + env.ContractID
		if env.Kind != events.KindContract {
			key += "\x00" + env.ID
		}
		g := byKey[key]
		if g == nil {
			g = &group{key: key}
			byKey[key] = g
			order = append(order, g)
		}
		g.deliveries = append(g.deliveries, delivery{msg: m, env: env, meta: meta})
	}
	return order
}

// processGroup applies a group's events and settles each message.
func (d *Dispatcher) processGroup(ctx context.Context, g *group) {
	first := g.deliveries[0].env
	start := time.Now()
	if first.Kind != events.KindContract {
		for _, dl := range g.deliveries {
			d.settle(ctx, dl, d.applyCertification(ctx, dl.env))
		}
		return
	}
	hb := d.heartbeat(g.deliveries)
	defer hb.stop()
	results := d.applyContractGroup(ctx, g.deliveries, hb)
	for i, dl := range g.deliveries {
		d.settle(ctx, dl, results[i])
	}
	d.metrics.groupSeconds.Observe(time.Since(start).Seconds())
}

// heartbeats keeps deliveries alive (InProgress) during long work such as
// a download, so AckWait never redelivers a message still being worked.
type heartbeats struct {
	msgs []jetstream.Msg
	done chan struct{}
	once sync.Once
}

func (d *Dispatcher) heartbeat(dls []delivery) *heartbeats {
	h := &heartbeats{done: make(chan struct{})}
	for _, dl := range dls {
		h.msgs = append(h.msgs, dl.msg)
	}
	every := d.cfg.AckWait / 3
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				h.beat()
			}
		}
	}()
	return h
}

func (h *heartbeats) beat() {
	for _, m := range h.msgs {
		_ = m.InProgress()
	}
}

func (h *heartbeats) stop() { h.once.Do(func() { close(h.done) }) }
