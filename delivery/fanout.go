package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/events"
)

// cursorName names the fan-out's cursor in the ledger.
const cursorName = events.DurableDeliveryFanout

// fanout reads QYS_LEDGER in stream order from the cursor kept in the
// ledger and queues each fact for every endpoint it matches, publishing
// one batch at a time, in order, then advancing the cursor. Every process
// running the stage does so; a process that finds the cursor ahead of it
// jumps there. Two processes queueing the same fact use the same message
// id ("<endpoint>:<fact>"), which QYS_DELIVERY stores once, at its first
// arrival; as each process publishes in stream order, each endpoint's
// queue stays in stream order, and a crash between queueing and the
// cursor's advance queues again only what the stream drops.
func (s *Stage) fanout(ctx context.Context) {
	for ctx.Err() == nil {
		if err := s.fanoutFrom(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("delivery: fan-out; starting again from the cursor")
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// errBehind: another process moved the cursor past this one's position.
var errBehind = errors.New("delivery: fan-out behind the cursor")

func (s *Stage) fanoutFrom(ctx context.Context) error {
	stream, err := s.o.JS.Stream(ctx, s.o.Names.LedgerStream())
	if err != nil {
		return err
	}
	cur, ok, err := s.o.Store.DeliveryCursor(ctx, cursorName)
	if err != nil {
		return err
	}
	if !ok {
		// First start: facts from now on (replays reach older ones).
		info, err := stream.Info(ctx)
		if err != nil {
			return err
		}
		cur = info.State.LastSeq
		if err := s.o.Store.AdvanceDeliveryCursor(ctx, cursorName, cur); err != nil {
			return err
		}
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.o.Names.LedgerWildcard()}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq: cur + 1})
	if err != nil {
		return err
	}
	// One iterator for the whole read: an ordered consumer's Fetch makes
	// a new server-side consumer each call (counting the stream's pending
	// messages from the start sequence), which cost two per batch.
	it, err := cons.Messages(pullOpts(s.o.FanoutBatch)...)
	if err != nil {
		return err
	}
	in := s.read(it)
	defer func() {
		it.Stop()
		for range in.msgs { // let read end
		}
	}()
	pos := cur
	for ctx.Err() == nil {
		batch, err := s.nextBatch(ctx, in)
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := s.queue(ctx, batch); err != nil {
				return err
			}
			meta, err := batch[len(batch)-1].Metadata()
			if err != nil {
				return err
			}
			pos = meta.Sequence.Stream
			if err := s.o.Store.AdvanceDeliveryCursor(ctx, cursorName, pos); err != nil {
				return err
			}
		}
		now, _, err := s.o.Store.DeliveryCursor(ctx, cursorName)
		if err != nil {
			return err
		}
		if now > pos {
			return errBehind
		}
	}
	return nil
}

// ledgerReader is the facts read ahead from QYS_LEDGER, in stream order;
// msgs is closed when the read ended, err then says why.
type ledgerReader struct {
	msgs chan jetstream.Msg
	err  error
}

// read reads it into a channel holding up to FanoutBatch facts, until it
// is stopped or fails.
func (s *Stage) read(it jetstream.MessagesContext) *ledgerReader {
	r := &ledgerReader{msgs: make(chan jetstream.Msg, s.o.FanoutBatch)}
	go func() {
		defer close(r.msgs)
		for {
			m, err := it.Next()
			if err != nil {
				r.err = err
				return
			}
			r.msgs <- m
		}
	}()
	return r
}

// nextBatch waits (up to a second) for one fact, then takes the facts
// already read, up to FanoutBatch: a batch leaves as soon as it exists.
func (s *Stage) nextBatch(ctx context.Context, in *ledgerReader) ([]jetstream.Msg, error) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	var first jetstream.Msg
	select {
	case m, ok := <-in.msgs:
		if !ok {
			if in.err == nil || errors.Is(in.err, jetstream.ErrMsgIteratorClosed) {
				return nil, errors.New("delivery: fan-out: the read of the ledger stream ended")
			}
			return nil, in.err
		}
		first = m
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, nil
	}
	batch := []jetstream.Msg{first}
	for len(batch) < s.o.FanoutBatch {
		select {
		case m, ok := <-in.msgs:
			if !ok {
				return batch, nil // the error comes with the next batch
			}
			batch = append(batch, m)
			continue
		default:
		}
		break
	}
	return batch, nil
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
			continue
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

// Pull requests of the fan-out's and the runners' iterators. nats.go's
// Messages iterator counts the messages its pull requests still owe and
// asks again only when that count falls below half its batch. Now and
// then (about one 5,000-fact bench round in 25 on a loaded machine) it
// waits with no pull request left on the server while the stream holds
// messages for it (seen: a runner's consumer with 1,838 pending, none
// waiting, none unacknowledged); then nothing arrives, not even a
// heartbeat, until it misses two and asks again: with nats.go's defaults
// after 10 s for an ordered consumer (the fan-out) and 30 s for a durable
// one (a runner). Likely cause, from nats.go's code: its check skips a
// new request while the previous one is still being sent, and is not
// made again until a message arrives. Short heartbeats bound that wait
// to 2*pullHeartbeat whatever the cause; a short expiry bounds a request
// the server holds but does not serve (its timeout status resets the
// count). The cost: an idle consumer gets a heartbeat every
// pullHeartbeat and asks again every pullExpiry.
const (
	pullHeartbeat = 500 * time.Millisecond
	pullExpiry    = 5 * time.Second
)

func pullOpts(batch int) []jetstream.PullMessagesOpt {
	return []jetstream.PullMessagesOpt{jetstream.PullMaxMessages(batch), jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(pullHeartbeat)}
}
