package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natstest"
)

func TestSubscriberFollowsAndAcksFacts(t *testing.T) {
	env := natstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	publish := func(subject string, f events.Fact) {
		t.Helper()
		data, _ := json.Marshal(f)
		if _, err := env.JS.Publish(ctx, subject, data, jetstream.WithMsgID(f.ID)); err != nil {
			t.Fatal(err)
		}
	}
	publish(env.Names.LedgerContractSubject("default", "COMPLETE"), events.Fact{
		Schema: events.SchemaLedgerV1, ID: "fact-1", Tenant: "default", Kind: events.FactContractStatus,
		ContractID: "100", Status: "COMPLETE", PreviousStatus: "SIGNING", Confirmed: true,
	})
	publish(env.Names.LedgerDocumentsSubject("default"), events.Fact{
		Schema: events.SchemaLedgerV1, ID: "fact-2", Tenant: "default", Kind: events.FactDocumentsArchived,
		ContractID: "100", Documents: []events.FactDocument{{ID: "200", SHA256: "ab", Path: "documents/default/100/200.pdf"}},
	})
	// Another tenant's fact is not delivered to a default-only subscriber.
	publish(env.Names.LedgerContractSubject("other", "COMPLETE"), events.Fact{
		Schema: events.SchemaLedgerV1, ID: "fact-3", Tenant: "other", Kind: events.FactContractStatus, ContractID: "300", Status: "COMPLETE",
	})

	var out bytes.Buffer
	o := Options{URL: env.URL, Namespace: env.Names.Namespace, Tenant: "default", Durable: "billing", Max: 2}
	if err := Run(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"contract 100 is COMPLETE", "document 200 archived at documents/default/100/200.pdf"} {
		if !strings.Contains(got, want) {
			t.Fatalf("output %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "300") {
		t.Fatalf("other tenant's fact delivered: %q", got)
	}
	// Everything was acknowledged: the durable has nothing pending.
	cons, err := env.JS.Consumer(ctx, env.Names.LedgerStream(), "billing")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("pending after run: ack %d, msgs %d", info.NumAckPending, info.NumPending)
	}
}

// TestSubscriberStopsAtMax: with 40 facts waiting and -max 20, the
// subscriber handles and acks exactly 20 (before, it acked whole batches
// of 16 and stopped at 32) and leaves the rest for the next run.
func TestSubscriberStopsAtMax(t *testing.T) {
	env := natstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 40 {
		f := events.Fact{Schema: events.SchemaLedgerV1, ID: fmt.Sprintf("fact-%d", i), Tenant: "default",
			Kind: events.FactContractStatus, ContractID: fmt.Sprint(1000 + i), Status: "SIGNING"}
		data, _ := json.Marshal(f)
		if _, err := env.JS.Publish(ctx, env.Names.LedgerContractSubject("default", "SIGNING"), data, jetstream.WithMsgID(f.ID)); err != nil {
			t.Fatal(err)
		}
	}
	for run, want := range []int{20, 20} {
		var out bytes.Buffer
		o := Options{URL: env.URL, Namespace: env.Names.Namespace, Tenant: "default", Durable: "billing", Max: 20}
		if err := Run(ctx, o, &out); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), "\n"); n != want {
			t.Fatalf("run %d handled %d facts, want %d:\n%s", run, n, want, out.String())
		}
		cons, err := env.JS.Consumer(ctx, env.Names.LedgerStream(), "billing")
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending != 0 || info.NumPending != uint64(40-20*(run+1)) {
			t.Fatalf("run %d: ack pending %d, pending %d", run, info.NumAckPending, info.NumPending)
		}
	}
}

// TestSubscriberThroughSubscribeOnlyPort: the example works through the
// embedded server's client port as serve opens it by default
// (QYSHOOK_EMBEDDED_NATS_ADDR; its clients may only subscribe and
// consume): it creates its durable, reads and acknowledges the facts.
func TestSubscriberThroughSubscribeOnlyPort(t *testing.T) {
	names := events.Names{Namespace: "port"}
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:-1",
		LedgerStreams: []string{names.LedgerStream()}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := names.Provision(ctx, js, natstest.TestStreamSettings()); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(events.Fact{Schema: events.SchemaLedgerV1, ID: "fact-1", Tenant: "default",
		Kind: events.FactContractStatus, ContractID: "100", Status: "COMPLETE", Confirmed: true})
	if _, err := js.Publish(ctx, names.LedgerContractSubject("default", "COMPLETE"), data, jetstream.WithMsgID("fact-1")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := Options{URL: srv.ClientURL(), Namespace: "port", Tenant: "default", Durable: "billing", Max: 1}
	if err := Run(ctx, o, &out); err != nil {
		t.Fatalf("through the subscribe-only port: %v", err)
	}
	if !strings.Contains(out.String(), "contract 100 is COMPLETE") {
		t.Fatalf("output %q", out.String())
	}
	cons, err := js.Consumer(ctx, names.LedgerStream(), "billing")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cons.Info(ctx); err != nil || info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("consumer after the run: %+v %v, want everything acknowledged", info, err)
	}
}
