package relay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/relay"
	"github.com/qyshook/qyshook/store"
)

// outbox is a JetStream and a ledger whose outbox the tests fill.
type outbox struct {
	t      *testing.T
	nats   *natstest.Env
	ledger store.Ledger
	reg    *prometheus.Registry
	n      int
}

func newOutbox(t *testing.T) *outbox {
	t.Helper()
	return &outbox{t: t, nats: natstest.New(t), ledger: testdb.Open(t, testdb.SQLite), reg: prometheus.NewRegistry()}
}

// relay is a relay over the outbox, its counter registered in o.reg,
// polling every interval (0: the default).
func (o *outbox) relay(interval time.Duration) *relay.Relay {
	o.t.Helper()
	r, err := relay.New(relay.Options{JS: o.nats.JS, Ledger: o.ledger, Logger: zerolog.Nop(), Registerer: o.reg, Interval: interval})
	if err != nil {
		o.t.Fatal(err)
	}
	return r
}

// add commits a contract change with one fact and returns the fact's id.
func (o *outbox) add() string {
	o.t.Helper()
	o.n++
	id := fmt.Sprintf("c-%d", o.n)
	fact := fmt.Sprintf("fact-%d", o.n)
	if _, err := o.ledger.ApplyContract(context.Background(), store.ContractChange{
		Event:    store.Event{ID: "ev-" + id, Tenant: "default", Kind: events.KindContract, Type: "SEAL", ContractID: id},
		Contract: store.Contract{Tenant: "default", ID: id, Status: lifecycle.Signing, Confirmed: true, UpdatedAt: time.Now().UTC()},
		Facts: []store.Fact{{ID: fact, Subject: o.nats.Names.LedgerContractSubject("default", lifecycle.Signing),
			Tenant: "default", ContractID: id, Payload: []byte(`{"contract_id":"` + id + `"}`)}},
	}); err != nil {
		o.t.Fatal(err)
	}
	return fact
}

// published is the Nats-Msg-Id of every message on QYS_LEDGER, oldest
// first.
func (o *outbox) published() []string {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := natstest.StreamMessages(ctx, o.nats.JS, o.nats.Names.LedgerStream())
	if err != nil {
		o.t.Fatal(err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Header.Get(jetstream.MsgIDHeader)
	}
	return ids
}

// pending is the number of facts not yet marked published.
func (o *outbox) pending() int {
	o.t.Helper()
	facts, err := o.ledger.Outbox(context.Background(), 0)
	if err != nil {
		o.t.Fatal(err)
	}
	return len(facts)
}

// TestFlushPublishesEachFactOnce: Flush publishes every pending fact in
// order, with its id as Nats-Msg-Id, marks them published and counts
// them; a second Flush has nothing to do.
func TestFlushPublishesEachFactOnce(t *testing.T) {
	o := newOutbox(t)
	want := []string{o.add(), o.add(), o.add()}
	r := o.relay(0)
	n, err := r.Flush(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Flush = %d, %v; want 3", n, err)
	}
	if got := o.published(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("QYS_LEDGER holds %v, want %v", got, want)
	}
	if p := o.pending(); p != 0 {
		t.Fatalf("%d facts still pending after Flush", p)
	}
	if c := counter(t, o.reg, "qyshook_dispatcher_facts_published_total"); c != 3 {
		t.Fatalf("counter %v, want 3", c)
	}
	if n, err := r.Flush(context.Background()); err != nil || n != 0 {
		t.Fatalf("second Flush = %d, %v; want 0", n, err)
	}
	if got := o.published(); len(got) != 3 {
		t.Fatalf("QYS_LEDGER holds %v after the second Flush, want the 3 facts once", got)
	}
}

// TestFlushAfterACrashDoesNotDouble: a fact published but not marked (a
// relay that stopped between the PubAck and MarkPublished) is published
// again by the next relay, and the stream drops the repeat: it is marked,
// and QYS_LEDGER holds it once.
func TestFlushAfterACrashDoesNotDouble(t *testing.T) {
	o := newOutbox(t)
	first := o.add()
	facts, err := o.ledger.Outbox(context.Background(), 0)
	if err != nil || len(facts) != 1 {
		t.Fatalf("outbox %v, %v", facts, err)
	}
	if _, err := o.nats.JS.Publish(context.Background(), facts[0].Subject, facts[0].Payload, jetstream.WithMsgID(facts[0].ID)); err != nil {
		t.Fatal(err)
	}
	second := o.add()
	if n, err := o.relay(0).Flush(context.Background()); err != nil || n != 2 {
		t.Fatalf("Flush = %d, %v; want both facts marked", n, err)
	}
	if got := o.published(); fmt.Sprint(got) != fmt.Sprint([]string{first, second}) {
		t.Fatalf("QYS_LEDGER holds %v, want [%s %s]", got, first, second)
	}
	if p := o.pending(); p != 0 {
		t.Fatalf("%d facts still pending", p)
	}
}

// TestRunPublishesOnKickAndOnStop: Run publishes when kicked, without
// waiting for its interval, and makes a last pass when its context ends,
// so a fact written just before the stop goes out before Run returns.
func TestRunPublishesOnKickAndOnStop(t *testing.T) {
	o := newOutbox(t)
	r := o.relay(time.Hour) // only kicks and the stop publish
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	kicked := o.add()
	r.Kick()
	for deadline := time.Now().Add(30 * time.Second); len(o.published()) != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the kicked fact was not published")
		}
	}

	last := o.add()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := o.published(); fmt.Sprint(got) != fmt.Sprint([]string{kicked, last}) {
		t.Fatalf("QYS_LEDGER holds %v, want [%s %s]", got, kicked, last)
	}
	if p := o.pending(); p != 0 {
		t.Fatalf("%d facts still pending after Run returned", p)
	}
}

// counter reads a counter of reg; -1 when it is not registered.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}
