package deliveryq_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/store"
)

// TestReplayAndRemove: a replay since T selects the endpoint's tenant and
// filters only, from T on (a dry run queues nothing); the queued messages
// carry the fact id and subject; Remove empties the endpoint's queue.
func TestReplayAndRemove(t *testing.T) {
	ctx := context.Background()
	env := natstest.NewEmbedded(t)
	if err := deliveryq.Provision(ctx, env.JS, env.Names, 1, 0); err != nil {
		t.Fatal(err)
	}
	pub := func(tenant, status, id string) {
		b, _ := json.Marshal(events.Fact{ID: id, Tenant: tenant})
		if _, err := env.JS.Publish(ctx, env.Names.LedgerContractSubject(tenant, status), b, jetstream.WithMsgID(id)); err != nil {
			t.Fatal(err)
		}
	}
	pub("default", "COMPLETE", "old")
	time.Sleep(50 * time.Millisecond)
	since := time.Now()
	time.Sleep(50 * time.Millisecond)
	pub("default", "COMPLETE", "f1")
	pub("default", "SIGNING", "f2")
	pub("other", "COMPLETE", "f3")
	pub("default", "COMPLETE", "f4")
	ep := &store.Endpoint{ID: "ep_q", Tenant: "default", Types: []string{"contract.COMPLETE"}, CreatedAt: time.Now()}
	res, err := deliveryq.Replay(ctx, env.JS, env.Names, ep, since, true, "t1")
	if err != nil || res.Matched != 2 || res.Scanned != 3 {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	stream, _ := env.JS.Stream(ctx, env.Names.DeliveryStream())
	if info, _ := stream.Info(ctx); info.State.Msgs != 0 {
		t.Fatalf("a dry run queued %d", info.State.Msgs)
	}
	if res, err = deliveryq.Replay(ctx, env.JS, env.Names, ep, since, false, "t1"); err != nil || res.Matched != 2 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	m, err := stream.GetMsg(ctx, 1)
	if err != nil || m.Header.Get(deliveryq.HeaderFactID) != "f1" || m.Subject != env.Names.DeliverySubject("ep_q") ||
		m.Header.Get(deliveryq.HeaderFactSubject) != env.Names.LedgerContractSubject("default", "COMPLETE") {
		t.Fatalf("queued message: %+v %v", m, err)
	}
	// The same tag again is a duplicate; another tag queues again.
	_, _ = deliveryq.Replay(ctx, env.JS, env.Names, ep, since, false, "t1")
	if info, _ := stream.Info(ctx); info.State.Msgs != 2 {
		t.Fatalf("%d queued after a repeated replay, want 2", info.State.Msgs)
	}
	if err := deliveryq.Remove(ctx, env.JS, env.Names, "ep_q"); err != nil {
		t.Fatal(err)
	}
	if info, _ := stream.Info(ctx); info.State.Msgs != 0 {
		t.Fatalf("%d left after Remove", info.State.Msgs)
	}
	if tenant, rel, ok := env.Names.LedgerRelative(env.Names.LedgerDocumentsSubject("acme")); !ok || tenant != "acme" || rel != "documents.archived" {
		t.Fatalf("LedgerRelative: %s %s %v", tenant, rel, ok)
	}
	if deliveryq.Matches(env.Names, ep, env.Names.LedgerContractSubject("default", "COMPLETE"), ep.CreatedAt.Add(-time.Second)) {
		t.Fatal("a fact published before the endpoint existed matched")
	}
}
