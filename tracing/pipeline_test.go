package tracing_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tracing"
)

const (
	incomingTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingParent = "00-" + incomingTrace + "-00f067aa0ba902b7-01"
	callbackSecret = "0123456789abcdef"
)

// pipeline is the stages wired as the service wires them (the stagetest
// harness: dispatcher, archiver and relay on a real JetStream and SQLite
// ledger, a fake 契约锁) with a receiver in front on real HTTP.
type pipeline struct {
	h   *stagetest.Harness
	url string
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	v, err := qys.NewVerifier(qys.VerifierConfig{Format: qys.FormatA, Cipher: qys.CipherECB, Secrets: []string{callbackSecret},
		Window: qys.Window{Past: time.Hour, Future: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receiver.New(receiver.Options{Tenants: map[string]*qys.Verifier{"default": v}, Publisher: h.NATS.JS,
		Names: h.NATS.Names, PublishTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	h.Start()
	return &pipeline{h: h, url: srv.URL}
}

// send posts a signed COMPLETE callback for a contract complete in the
// fake (so it is confirmed, committed, its documents archived and its
// facts published) with the given traceparent ("" for none), and
// returns the contract id.
func (p *pipeline) send(t *testing.T, traceparent string) string {
	t.Helper()
	id := p.h.AddContract("SIGNING")
	p.h.CompleteInFake(id)
	payload, _ := json.Marshal(map[string]any{"contractId": id, "callbackType": "CONTRACT_COMPLETE", "contractStatus": "COMPLETE"})
	out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: callbackSecret, Encrypt: true, Cipher: qys.CipherECB},
		payload, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, p.url+"/callbacks/default/contract", bytes.NewReader(out.Body))
	req.Header.Set("Content-Type", out.ContentType)
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "success") {
		t.Fatalf("callback refused: %d %s", resp.StatusCode, body)
	}
	return id
}

// settled waits for id's event, its archived documents and its facts on
// QYS_LEDGER (the commit's and the archiver's), and returns the event's
// trace id and the traceparent headers of its facts.
func (p *pipeline) settled(t *testing.T, id string) (traceID string, factParents []string) {
	t.Helper()
	ctx := context.Background()
	stagetest.Eventually(t, "the event and archived documents of "+id, func() bool {
		evs, err := p.h.Ledger.Events(ctx, "default", id)
		if err != nil || len(evs) == 0 {
			return false
		}
		traceID = evs[0].TraceID
		c := p.h.Contract(id)
		if c == nil || len(c.Documents) == 0 {
			return false
		}
		for _, d := range c.Documents {
			if d.ArchiveState != store.ArchiveArchived {
				return false
			}
		}
		return true
	})
	docs := len(p.h.Contract(id).Documents)
	stagetest.Eventually(t, "the facts of "+id, func() bool {
		factParents = nil
		archived, changes := 0, 0
		for _, m := range p.h.StreamMessages(p.h.NATS.Names.LedgerStream()) {
			var f events.Fact
			if json.Unmarshal(m.Data, &f) == nil && f.ContractID == id {
				factParents = append(factParents, m.Header.Get(tracing.HeaderTraceparent))
				if m.Subject == p.h.NATS.Names.LedgerDocumentsSubject("default") {
					archived++
				} else {
					changes++
				}
			}
		}
		// The commit's facts and the archiver's (one per document).
		return changes > 0 && archived >= docs
	})
	return traceID, factParents
}

// TestTraceThroughPipeline: with nothing configured (the no-op tracer),
// the trace id of a callback's traceparent reaches the stored event and
// the traceparent header of its facts; a malformed traceparent is
// ignored (a new trace, the callback stored as any other).
func TestTraceThroughPipeline(t *testing.T) {
	p := newPipeline(t)
	id := p.send(t, incomingParent)
	traceID, parents := p.settled(t, id)
	if traceID != incomingTrace {
		t.Fatalf("stored trace id %q, want %q", traceID, incomingTrace)
	}
	for _, tp := range parents {
		if sc, ok := tracing.Parse(tp); !ok || sc.TraceID().String() != incomingTrace {
			t.Fatalf("fact traceparent %q, want one of trace %s", tp, incomingTrace)
		}
	}

	for _, bad := range []string{"00-zzz", "00-" + strings.ToUpper(incomingTrace) + "-00f067aa0ba902b7-01", ""} {
		id := p.send(t, bad)
		traceID, parents := p.settled(t, id)
		if len(traceID) != 32 || traceID == incomingTrace || strings.Trim(traceID, "0") == "" {
			t.Fatalf("traceparent %q: stored trace id %q, want a new one", bad, traceID)
		}
		for _, tp := range parents {
			if sc, ok := tracing.Parse(tp); !ok || sc.TraceID().String() != traceID {
				t.Fatalf("traceparent %q: fact traceparent %q, want trace %s", bad, tp, traceID)
			}
		}
	}
}

// collector is an OTLP/HTTP receiver: it decodes each export request's
// protobuf and keeps the spans' names by trace id.
type collector struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans map[string][]string // trace id -> service/span names
}

func newCollector(t *testing.T) *collector {
	c := &collector{spans: map[string][]string{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("collector: %s %s %s: %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					id := hex.EncodeToString(s.GetTraceId())
					c.spans[id] = append(c.spans[id], service+"/"+s.GetName())
				}
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) trace(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.spans[id]...)
}

// TestOTLPExport: with an OTLP endpoint set, one callback's spans —
// receive, confirm, commit, archive, publish — reach a real OTLP/HTTP
// receiver in one trace, the callback's.
func TestOTLPExport(t *testing.T) {
	c := newCollector(t)
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.srv.URL, "OTEL_SERVICE_NAME": "qyshook-test"}
	shutdown, enabled, err := tracing.Setup(context.Background(), func(k string) string { return env[k] })
	if err != nil || !enabled {
		t.Fatalf("Setup: enabled %v, %v", enabled, err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := shutdown(context.Background()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	}
	defer stop()

	p := newPipeline(t)
	id := p.send(t, incomingParent)
	traceID, parents := p.settled(t, id)
	if traceID != incomingTrace {
		t.Fatalf("stored trace id %q, want %q", traceID, incomingTrace)
	}
	// A callback without a traceparent is a trace of its own (the SDK's
	// root), exported as well.
	own, _ := p.settled(t, p.send(t, ""))
	if len(own) != 32 || own == incomingTrace {
		t.Fatalf("a callback without a traceparent: stored trace id %q", own)
	}
	p.h.Stop()
	stop() // flushes the spans in hand
	got := c.trace(incomingTrace)
	for _, name := range []string{tracing.SpanReceive, tracing.SpanConfirm, tracing.SpanCommit, tracing.SpanArchive, tracing.SpanPublish} {
		found := false
		for _, g := range got {
			found = found || g == "qyshook-test/"+name
		}
		if !found {
			t.Errorf("no %s span in trace %s; it has %v", name, incomingTrace, got)
		}
	}
	// The facts' traceparent names a span of the trace the collector has.
	for _, tp := range parents {
		if sc, ok := tracing.Parse(tp); !ok || sc.TraceID().String() != incomingTrace {
			t.Errorf("fact traceparent %q", tp)
		}
	}
	if got := c.trace(own); len(got) < 5 {
		t.Errorf("trace %s of a callback without a traceparent: %v", own, got)
	}
}
