package delivery

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/events"
)

// fanout reads QYS_LEDGER through the shared durable consumer and queues
// each fact for every endpoint it matches. Its consumer allows
// FanoutBatch facts in hand across all processes, and a batch is
// acknowledged only once all its deliveries are queued: so the deliveries
// of one endpoint are queued in the ledger's order, and a crash queues
// them again under the same message ids, which QYS_DELIVERY drops.
func (s *Stage) fanout(ctx context.Context) {
	var cons jetstream.Consumer
	for cons == nil {
		c, err := s.o.JS.CreateOrUpdateConsumer(ctx, s.o.Names.LedgerStream(), jetstream.ConsumerConfig{
			Durable: s.o.Names.Durable(events.DurableDeliveryFanout), FilterSubject: s.o.Names.LedgerWildcard(),
			AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy,
			MaxAckPending: s.o.FanoutBatch, AckWait: 30 * time.Second, MaxDeliver: -1,
		})
		if err == nil {
			cons = c
			break
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn().Err(err).Msg("delivery: fan-out consumer not ready; retrying")
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	for ctx.Err() == nil {
		msgs, err := cons.Fetch(s.o.FanoutBatch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn().Err(err).Msg("delivery: fan-out fetch")
				time.Sleep(time.Second)
			}
			continue
		}
		var batch []jetstream.Msg
		for m := range msgs.Messages() {
			batch = append(batch, m)
		}
		if len(batch) == 0 {
			continue
		}
		if err := s.queue(ctx, batch); err != nil {
			if ctx.Err() == nil {
				s.log.Error().Err(err).Int("facts", len(batch)).Msg("delivery: fan-out; the batch comes again")
			}
			for _, m := range batch {
				_ = m.NakWithDelay(time.Second)
			}
			continue
		}
		for _, m := range batch {
			if err := m.Ack(); err != nil {
				s.log.Warn().Err(err).Msg("delivery: fan-out ack")
			}
		}
	}
}

// queue queues the deliveries of one batch, in its order.
func (s *Stage) queue(ctx context.Context, batch []jetstream.Msg) error {
	eps, err := s.o.Store.Endpoints(ctx, "")
	if err != nil {
		return err
	}
	var items []deliveryq.Item
	for _, m := range batch {
		meta, err := m.Metadata()
		if err != nil {
			continue // not a stream delivery
		}
		id := deliveryq.FactID(m)
		if id == "" {
			s.log.Warn().Str("subject", m.Subject()).Msg("delivery: a fact without Nats-Msg-Id is not delivered")
			continue
		}
		for i := range eps {
			if !deliveryq.Matches(s.o.Names, &eps[i], m.Subject(), meta.Timestamp) {
				continue
			}
			items = append(items, deliveryq.Item{EndpointID: eps[i].ID, FactID: id, Subject: m.Subject(),
				Body: m.Data(), Published: meta.Timestamp, MsgID: eps[i].ID + ":" + id})
		}
	}
	if len(items) == 0 {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := deliveryq.Enqueue(qctx, s.o.JS, s.o.Names, items...); err != nil {
		return err
	}
	s.m.queued.Add(float64(len(items)))
	return nil
}
