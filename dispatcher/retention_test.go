package dispatcher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/trimmer"
)

// A capped callback stream full of callbacks the dispatcher has worked
// used to refuse every new callback for ever (DiscardNew, and nothing ever
// removed a worked callback). The trimmer removes worked callbacks, never
// unworked ones.
func TestTrimmerFreesAFullStreamOfWorkedCallbacks(t *testing.T) {
	// Embedded (nats-server 2.15): the machine's 2.9.10 was seen dropping
	// the oldest messages of a capped DiscardNew stream in this set-up,
	// which would hide what this test is about (see the README's limits).
	h := stagetest.NewOn(t, natstest.NewEmbedded(t), testdb.Open(t, testdb.SQLite), stagetest.WithoutAPI())
	ctx := context.Background()
	// Streams of their own, created capped (an update of the cap is not
	// enforced at once by every nats-server version).
	names, err := events.NewNames(natstest.RandomNamespace())
	if err != nil {
		t.Fatal(err)
	}
	settings := natstest.TestStreamSettings()
	settings.MaxBytes = 16 << 10
	if err := names.Provision(ctx, h.NATS.JS, settings); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range names.StreamConfigs(settings) {
			_ = h.NATS.JS.DeleteStream(context.Background(), c.Name)
		}
	})
	h.Config.Names, h.Archive.Names = names, names
	name := names.CallbacksStream()
	publish := func(i int) error {
		id := fmt.Sprintf("c%03d", i)
		env := events.Envelope{
			Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: "SEAL",
			ContractID: id, ContractStatus: "SIGNING", ReceivedAt: time.Now().UTC(), Format: "A",
			Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + id + `"}`),
		}
		env.ID = events.EventID("default", events.KindContract, id, "SEAL", "SIGNING", "")
		data, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.NATS.JS.Publish(ctx, names.CallbackSubject("default", env.Kind, env.Type), data, jetstream.WithMsgID(env.ID))
		return err
	}
	stored := 0
	for ; stored < 1000 && publish(stored) == nil; stored++ {
	}
	if stored == 0 || stored == 1000 {
		t.Fatalf("stored %d callbacks: the cap did not fill as set up", stored)
	}
	if publish(stored) == nil {
		t.Fatal("a full stream took one more callback")
	}

	// The dispatcher's consumer, made before it runs, and the trimmer
	// stage that reads its ack floor.
	cfg2 := h.Config
	cfg2.Registerer = nil
	consumer, err := dispatcher.New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.NATS.JS.CreateOrUpdateConsumer(ctx, name, consumer.ConsumerConfig()); err != nil {
		t.Fatal(err)
	}
	trim, err := trimmer.New(trimmer.Options{JS: h.NATS.JS, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := trim.Trim(ctx); err != nil || n != 0 {
		t.Fatalf("before any was worked, trimmed %d (%v): unworked callbacks must stay", n, err)
	}

	h.Start()
	stagetest.Eventually(t, "every stored callback worked", func() bool {
		c, err := h.NATS.JS.Consumer(ctx, name, consumer.ConsumerConfig().Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream >= uint64(stored)
	})
	n, err := trim.Trim(ctx)
	if err != nil || n == 0 {
		t.Fatalf("trimmed %d (%v), want the worked callbacks removed", n, err)
	}
	if err := publish(stored); err != nil {
		t.Fatalf("after the dispatcher caught up and trimmed, the stream still refuses: %v", err)
	}
	stagetest.Eventually(t, "the new callback applied", func() bool { return h.Contract(fmt.Sprintf("c%03d", stored)) != nil })
	for i := range stored {
		if h.Contract(fmt.Sprintf("c%03d", i)) == nil {
			t.Fatalf("callback %d was trimmed before it was applied", i)
		}
	}
}
