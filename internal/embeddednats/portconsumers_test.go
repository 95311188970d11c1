package embeddednats

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestSubscriberCannotTouchOthersConsumer (the reviewer's reproduction):
// a client on the subscribe-only port could update, fetch from, Term()
// and delete qyshook's own durable on a stream that is not the ledger,
// so an answered callback was never applied.
func TestSubscriberCannotTouchOthersConsumer(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inProc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer inProc.Close()
	ijs, _ := jetstream.New(inProc)
	str, err := ijs.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ijs.Publish(ctx, "s.x", []byte("callback")); err != nil {
		t.Fatal(err)
	}
	if _, err := str.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "dispatcher", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}

	nc, err := nats.Connect(s.ClientURL(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 2*time.Second) }

	c1, cancel1 := short()
	_, uerr := js.UpdateConsumer(c1, "S", jetstream.ConsumerConfig{Durable: "dispatcher", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 1})
	cancel1()
	if uerr == nil {
		t.Error("a subscribe-only client updated another's durable consumer")
	}
	c2, cancel2 := short()
	if c, err := js.Consumer(c2, "S", "dispatcher"); err == nil {
		t.Error("a subscribe-only client looked up another's durable consumer")
		if b, err := c.Fetch(1, jetstream.FetchMaxWait(2*time.Second)); err == nil {
			for m := range b.Messages() {
				t.Errorf("a subscribe-only client fetched the dispatcher's message %q (term: %v)", m.Data(), m.Term())
			}
		}
	}
	cancel2()
	c3, cancel3 := short()
	err = js.DeleteConsumer(c3, "S", "dispatcher")
	cancel3()
	if err == nil {
		t.Error("a subscribe-only client deleted another's durable consumer")
	}

	// The dispatcher still has its consumer, unchanged, and its message.
	cons, err := ijs.Consumer(ctx, "S", "dispatcher")
	if err != nil {
		t.Fatalf("dispatcher's consumer after the port's attempts: %v", err)
	}
	if md := cons.CachedInfo().Config.MaxDeliver; md == 1 {
		t.Error("dispatcher's consumer was changed through the port")
	}
	b, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range b.Messages() {
		got++
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if got != 1 {
		t.Fatalf("dispatcher fetched %d messages after the port's attempts, want 1", got)
	}
}
