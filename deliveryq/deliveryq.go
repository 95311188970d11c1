// Package deliveryq is the queue of HTTP deliveries on JetStream
// (QYS_DELIVERY, a work-queue stream with one subject per endpoint): its
// stream, queueing one fact for one endpoint, replaying the facts of
// QYS_LEDGER since a time to an endpoint, and removing an endpoint's
// queue. The delivery stage and the admin API both use it.
package deliveryq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

// Headers of a queued delivery: the fact's id (webhook-id) and the
// QYS_LEDGER subject it was published on.
const (
	HeaderFactID      = "Qys-Fact-Id"
	HeaderFactSubject = "Qys-Fact-Subject"
	// HeaderFactPublished is when the fact was stored on QYS_LEDGER
	// (RFC 3339): the delivery lag is measured from it.
	HeaderFactPublished = "Qys-Fact-Published"
)

// DuplicateWindow collapses a delivery queued twice (a fan-out batch
// redelivered after a crash) into one.
const DuplicateWindow = time.Hour

// DefaultMaxAge is how long QYS_DELIVERY keeps a delivery at least: one
// left behind (an endpoint deleted while a fan-out queued for it, or
// disabled for longer) is dropped then; replay queues it again.
const DefaultMaxAge = 30 * 24 * time.Hour

// Provision creates or updates the delivery stream. maxAge bounds how
// long a delivery stays queued (0: the stream's current bound, or
// DefaultMaxAge for a new stream).
func Provision(ctx context.Context, js jetstream.JetStream, names events.Names, replicas int, maxAge time.Duration) error {
	if replicas < 1 {
		replicas = 1
	}
	cfg := jetstream.StreamConfig{Name: names.DeliveryStream(), Subjects: []string{names.DeliveryWildcard()},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: replicas,
		Duplicates: DuplicateWindow, Discard: jetstream.DiscardNew, MaxAge: maxAge}
	s, err := js.Stream(ctx, cfg.Name)
	if err == nil && s.CachedInfo().Config.Replicas > replicas {
		cfg.Replicas = s.CachedInfo().Config.Replicas // never lowered
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
		if err == nil && s.CachedInfo().Config.MaxAge > 0 {
			cfg.MaxAge = s.CachedInfo().Config.MaxAge
		}
	}
	cfg.Duplicates = min(cfg.Duplicates, cfg.MaxAge) // JetStream refuses a window past the age
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("delivery: stream %s: %w", cfg.Name, err)
	}
	return nil
}

// Item is one fact to deliver to one endpoint.
type Item struct {
	EndpointID string
	FactID     string
	Subject    string // the fact's QYS_LEDGER subject
	Body       []byte
	// Published is when the fact was stored on QYS_LEDGER (zero: unknown).
	Published time.Time
	// MsgID dedupes the queueing ("<endpoint>:<fact>" from the fan-out;
	// retries and replays add a tag so they are queued again).
	MsgID string
}

// Msg builds the queued message of it.
func (it Item) Msg(names events.Names) *nats.Msg {
	m := nats.NewMsg(names.DeliverySubject(it.EndpointID))
	m.Data = it.Body
	m.Header.Set(HeaderFactID, it.FactID)
	m.Header.Set(HeaderFactSubject, it.Subject)
	m.Header.Set(jetstream.MsgIDHeader, it.MsgID)
	if !it.Published.IsZero() {
		m.Header.Set(HeaderFactPublished, it.Published.UTC().Format(time.RFC3339Nano))
	}
	return m
}

// EnqueueWindow bounds the queueing publishes Enqueue has awaiting their
// acknowledgement, well below the connection's own bound (4000 by
// default, shared with every other asynchronous publisher on it, past
// which a publish fails after a short stall).
const EnqueueWindow = 512

// Enqueue queues items and waits for their acknowledgements (and, on a
// grouped-sync embedded server, for them to be on disk). It publishes
// asynchronously, at most EnqueueWindow awaiting their acknowledgement.
func Enqueue(ctx context.Context, js jetstream.JetStream, names events.Names, items ...Item) error {
	futs := make([]jetstream.PubAckFuture, 0, len(items))
	acked := 0
	wait := func(f jetstream.PubAckFuture) error {
		select {
		case <-f.Ok():
			return nil
		case err := <-f.Err():
			return fmt.Errorf("delivery: queue: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("delivery: queue: %w", ctx.Err())
		}
	}
	for _, it := range items {
		if len(futs)-acked >= EnqueueWindow {
			if err := wait(futs[acked]); err != nil {
				return err
			}
			acked++
		}
		f, err := js.PublishMsgAsync(it.Msg(names))
		if err != nil {
			return fmt.Errorf("delivery: queue %s for %s: %w", it.FactID, it.EndpointID, err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs[acked:] {
		if err := wait(f); err != nil {
			return err
		}
	}
	// With the embedded server's grouped sync, the acks mean "written",
	// not yet "on disk": wait for the group's sync before the caller moves
	// its cursor or deletes a dead letter.
	if err := events.SyncAcked(ctx, js); err != nil {
		return fmt.Errorf("delivery: queue: sync: %w", err)
	}
	return nil
}

// FactID returns a ledger message's fact id: its Nats-Msg-Id (the relay
// publishes each fact with its id).
func FactID(m jetstream.Msg) string {
	return m.Headers().Get(jetstream.MsgIDHeader)
}

// Matches reports whether a fact published on subject at publishedAt is
// for ep: the endpoint's tenant, one of its filters, and published once it
// existed.
func Matches(names events.Names, ep *store.Endpoint, subject string, publishedAt time.Time) bool {
	tenant, rel, ok := names.LedgerRelative(subject)
	return ok && tenant == ep.Tenant && webhook.MatchType(ep.Types, rel) && !publishedAt.Before(ep.CreatedAt)
}

// ReplayResult is what a replay queued (or, dry, would queue).
type ReplayResult struct {
	Matched int `json:"matched"`
	Scanned int `json:"scanned"`
}

// Replay queues for ep every fact of its tenant on QYS_LEDGER published
// since since that its filters select (whenever ep was created), tagged
// so they are queued again even if delivered before. dryRun only counts.
// Facts older than QYS_LEDGER keeps are gone.
func Replay(ctx context.Context, js jetstream.JetStream, names events.Names, ep *store.Endpoint, since time.Time, dryRun bool, tag string) (ReplayResult, error) {
	var res ReplayResult
	stream, err := js.Stream(ctx, names.LedgerStream())
	if err != nil {
		return res, fmt.Errorf("delivery: replay: %w", err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{names.LedgerTenantWildcard(ep.Tenant)}, DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime: &since})
	if err != nil {
		return res, fmt.Errorf("delivery: replay: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return res, fmt.Errorf("delivery: replay: %w", err)
	}
	left := info.NumPending
	noCreated := *ep
	noCreated.CreatedAt = time.Time{}
	var batch []Item
	flush := func() error {
		if dryRun || len(batch) == 0 {
			batch = batch[:0]
			return nil
		}
		err := Enqueue(ctx, js, names, batch...)
		batch = batch[:0]
		return err
	}
	for left > 0 {
		msgs, err := cons.Fetch(int(min(left, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return res, fmt.Errorf("delivery: replay: %w", err)
		}
		got := 0
		for m := range msgs.Messages() {
			got++
			left--
			res.Scanned++
			if !Matches(names, &noCreated, m.Subject(), time.Time{}) {
				continue
			}
			res.Matched++
			id := FactID(m)
			batch = append(batch, Item{EndpointID: ep.ID, FactID: id, Subject: m.Subject(), Body: m.Data(),
				MsgID: ep.ID + ":" + id + ":" + tag})
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return res, fmt.Errorf("delivery: replay: %w", err)
		}
		if err := flush(); err != nil {
			return res, err
		}
		if got == 0 {
			break
		}
	}
	return res, nil
}

// Remove deletes an endpoint's consumer and its queued deliveries.
func Remove(ctx context.Context, js jetstream.JetStream, names events.Names, endpointID string) error {
	stream, err := js.Stream(ctx, names.DeliveryStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delivery: remove %s: %w", endpointID, err)
	}
	if err := stream.DeleteConsumer(ctx, names.DeliveryDurable(endpointID)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delivery: remove %s: %w", endpointID, err)
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSubject(names.DeliverySubject(endpointID))); err != nil {
		return fmt.Errorf("delivery: remove %s: %w", endpointID, err)
	}
	return nil
}
