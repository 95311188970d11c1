package receiver_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/tracing"
)

// TestTraceparentOnTheStoredMessage: a valid traceparent's trace id (and
// its tracestate) reach the stored message's headers, under the receive
// span, and its access log line names it; a malformed one, or none, is
// ignored: the callback is stored and
// answered success as any other, in a new trace.
func TestTraceparentOnTheStoredMessage(t *testing.T) {
	h := newHarness(t, nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	cases := []struct {
		contract, traceparent, tracestate string
		keep                              bool
	}{
		{"tp-valid", "00-" + traceID + "-00f067aa0ba902b7-01", "vendor=1", true},
		{"tp-garbage", "not-a-traceparent", "", false},
		{"tp-zero", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", false},
		{"tp-upper", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "", false},
		{"tp-none", "", "", false},
	}
	for _, c := range cases {
		out := mustBuild(t, senderA(secretA), contractPayload(c.contract, "CONTRACT_COMPLETE", "COMPLETE"), time.Now())
		req, _ := http.NewRequest(http.MethodPost, h.http.URL+"/callbacks/acme/contract", bytes.NewReader(out.Body))
		req.Header.Set("Content-Type", out.ContentType)
		if c.traceparent != "" {
			req.Header.Set("traceparent", c.traceparent)
		}
		if c.tracestate != "" {
			req.Header.Set("tracestate", c.tracestate)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", c.contract, resp.StatusCode)
		}
	}
	// The access line of the stored callback names its trace.
	if !strings.Contains(h.logs.String(), `"trace_id":"`+traceID+`"`) {
		t.Fatalf("no access line with trace_id %s:\n%s", traceID, h.logs.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := natstest.StreamMessages(ctx, h.nats.JS, h.nats.Names.CallbacksStream())
	if err != nil || len(msgs) != len(cases) {
		t.Fatalf("%d stored messages, %v", len(msgs), err)
	}
	seen := map[string]bool{}
	for i, m := range msgs {
		c := cases[i]
		sc, ok := tracing.Parse(m.Header.Get(tracing.HeaderTraceparent))
		if !ok {
			t.Fatalf("%s: stored traceparent %q", c.contract, m.Header.Get(tracing.HeaderTraceparent))
		}
		id := sc.TraceID().String()
		if c.keep != (id == traceID) || seen[id] {
			t.Fatalf("%s: stored trace id %s (incoming %q)", c.contract, id, c.traceparent)
		}
		seen[id] = true
		if got := m.Header.Get(tracing.HeaderTracestate); got != c.tracestate {
			t.Fatalf("%s: tracestate %q, want %q", c.contract, got, c.tracestate)
		}
	}
}
