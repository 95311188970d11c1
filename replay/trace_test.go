package replay_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/replay"
	"github.com/qyshook/qyshook/tracing"
)

// TestReplayContinuesTheTrace: a replay carries the original callback's
// traceparent and tracestate (so its commit and facts join that trace);
// an original without one is replayed without one.
func TestReplayContinuesTheTrace(t *testing.T) {
	w := newWorld(t)
	ctx := ctxT(t)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	id := w.addContract(lifecycle.Complete)
	traced := contractEnvelope("default", id, "COMPLETE", lifecycle.Complete, "")
	data, err := traced.Encode()
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(w.nats.Names.CallbackSubject("default", events.KindContract, "COMPLETE"))
	msg.Data = data
	msg.Header.Set(tracing.HeaderTraceparent, traceparent)
	msg.Header.Set(tracing.HeaderTracestate, "vendor=1")
	if _, err := w.nats.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(traced.ID)); err != nil {
		t.Fatal(err)
	}
	w.publish(contractEnvelope("default", id, "SIGNED", lifecycle.Signing, "张三"))

	r, err := replay.New(replay.Config{JS: w.nats.JS, Names: w.nats.Names, Job: "jt"})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := r.Run(ctx, replay.Selector{FromSeq: 1}, false, nil); err != nil || rep.Republished != 2 {
		t.Fatalf("replay: %+v, %v", rep, err)
	}
	msgs, err := natstest.StreamMessages(ctx, w.nats.JS, w.nats.Names.CallbacksStream())
	if err != nil || len(msgs) != 4 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	if got := msgs[2].Header.Get(tracing.HeaderTraceparent); got != traceparent || msgs[2].Header.Get(tracing.HeaderTracestate) != "vendor=1" {
		t.Fatalf("the traced callback's replay: traceparent %q tracestate %q", got, msgs[2].Header.Get(tracing.HeaderTracestate))
	}
	if got := msgs[3].Header.Get(tracing.HeaderTraceparent); got != "" {
		t.Fatalf("the untraced callback's replay has traceparent %q", got)
	}
}
