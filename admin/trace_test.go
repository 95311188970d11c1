package admin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestTraceIDOnTheTimeline: an event's trace id (events.trace_id,
// migration 0015) is answered on the contract's timeline, to viewers
// too, and left out for an event without one; the fact's and the
// queued documents' trace context is kept for the relay and archiver
// (both ledgers). The console shows it.
func TestTraceIDOnTheTimeline(t *testing.T) {
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const traceparent = "00-" + traceID + "-00f067aa0ba902b7-01"
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixtureKind(t, kind)
			MustApply(t, f.ledger, "default", "c-trace", "SIGNING", base)
			ch := store.ContractChange{
				Event: store.Event{ID: "ev-traced", Tenant: "default", Kind: "contract", Type: "COMPLETE", ContractID: "c-trace",
					Source: "callback", ReceivedAt: base.Add(1), Payload: json.RawMessage(`{}`), TraceID: traceID},
				Contract: store.Contract{Tenant: "default", ID: "c-trace", Status: "COMPLETE", Confirmed: true, UpdatedAt: base.Add(1),
					Documents: []store.Document{{ID: "c-trace-d1", ContractID: "c-trace", Title: "合同正文"}}},
				Facts: []store.Fact{{ID: "fact-traced", Subject: "qys.ledger.default.contract.COMPLETE", Tenant: "default",
					ContractID: "c-trace", Payload: []byte(`{}`), CreatedAt: base.Add(1), Traceparent: traceparent}},
				ArchiveDocuments: true,
				Traceparent:      traceparent,
			}
			ctx := context.Background()
			if _, err := f.ledger.ApplyContract(ctx, ch); err != nil {
				t.Fatal(err)
			}
			var c adminapi.ContractDetail
			if st := f.get(t, viewerToken, "/contracts/default/c-trace", &c); st != 200 {
				t.Fatalf("status %d", st)
			}
			got := map[string]string{}
			for _, e := range c.Events {
				got[e.ID] = e.TraceID
			}
			if got["ev-traced"] != traceID || got["ev-default-c-trace-SIGNING"] != "" || len(got) != 2 {
				t.Fatalf("trace ids on the timeline: %v", got)
			}
			out, err := f.ledger.Outbox(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, fact := range out {
				if fact.ID == "fact-traced" {
					found = fact.Traceparent == traceparent
				}
			}
			if !found {
				t.Fatalf("no fact-traced with traceparent %s in the outbox: %+v", traceparent, out)
			}
			docs, err := f.ledger.ClaimDocuments(ctx, "test", 10, time.Minute)
			if err != nil || len(docs) != 1 || docs[0].Traceparent != traceparent {
				t.Fatalf("claimed documents %+v, %v", docs, err)
			}
		})
	}
	js, err := consoleFS.ReadFile("static/console.js")
	if err != nil || !strings.Contains(string(js), "e.trace_id") {
		t.Fatalf("the console's timeline does not show trace_id (%v)", err)
	}
}
