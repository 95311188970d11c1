package tracing

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const (
	validTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	validParent  = "00-" + validTraceID + "-00f067aa0ba902b7-01"
)

func TestParse(t *testing.T) {
	good := map[string]struct {
		trace   string
		sampled bool
	}{
		validParent: {validTraceID, true},
		"00-" + validTraceID + "-00f067aa0ba902b7-00": {validTraceID, false},
		// A later version may carry more fields after a dash.
		"cc-" + validTraceID + "-00f067aa0ba902b7-01-what-the-future-holds": {validTraceID, true},
		"01-" + validTraceID + "-00f067aa0ba902b7-09":                       {validTraceID, true}, // unknown flags dropped
	}
	for s, want := range good {
		sc, ok := Parse(s)
		if !ok || sc.TraceID().String() != want.trace || sc.IsSampled() != want.sampled || !sc.IsRemote() {
			t.Errorf("Parse(%q) = %v %v sampled=%v, want trace %s sampled=%v", s, sc.TraceID(), ok, sc.IsSampled(), want.trace, want.sampled)
		}
	}
	bad := []string{
		"",
		"garbage",
		"00-" + validTraceID + "-00f067aa0ba902b7-01-extra",               // version 00 is exactly 55 characters
		"ff-" + validTraceID + "-00f067aa0ba902b7-01",                     // version ff is invalid
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",         // all-zero trace id
		"00-" + validTraceID + "-0000000000000000-01",                     // all-zero parent id
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",         // uppercase
		"00-" + validTraceID + "-00f067aa0ba902b7-0g",                     // not hex
		"00_" + validTraceID + "_00f067aa0ba902b7_01",                     // wrong separators
		"00-" + validTraceID[:31] + "-00f067aa0ba902b7-01",                // short trace id
		"cc-" + validTraceID + "-00f067aa0ba902b7-01x",                    // a later version's fields follow a dash
		"0x-" + validTraceID + "-00f067aa0ba902b7-01",                     // version not hex
		"00-" + validTraceID + "-00f067aa0ba902b7-01\x00\x00\x00\x00\x00", // trailing junk
		"00-" + validTraceID + "-00f067aa0ba902b7-09",                     // version 00 has no other flags than sampled and random
	}
	for _, s := range bad {
		if sc, ok := Parse(s); ok || sc.IsValid() {
			t.Errorf("Parse(%q) accepted: %v", s, sc)
		}
	}
	if sc, _ := Parse(validParent); Format(sc) != validParent {
		t.Errorf("Format(Parse(%q)) = %q", validParent, Format(sc))
	}
	if Format(trace.SpanContext{}) != "" {
		t.Error("Format of an invalid span context is not empty")
	}
}

// TestMalformedIsIgnored: a malformed or repeated traceparent leaves the
// context without a parent (a new trace follows); a bad tracestate is
// dropped, the traceparent kept.
func TestMalformedIsIgnored(t *testing.T) {
	for _, h := range []http.Header{
		{"Traceparent": {"00-zzz"}},
		{"Traceparent": {validParent, validParent}},
		{"Traceparent": {"ff-" + validTraceID + "-00f067aa0ba902b7-01"}},
		{},
	} {
		ctx := FromHTTP(context.Background(), h)
		if trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("FromHTTP(%v) took a parent", h)
		}
		ctx = EnsureTrace(ctx)
		if id := TraceID(ctx); len(id) != 32 || id == validTraceID {
			t.Errorf("EnsureTrace after %v: trace id %q, want a new one", h, id)
		}
	}
	ctx := FromHTTP(context.Background(), http.Header{"Traceparent": {validParent}, "Tracestate": {"not a tracestate!"}})
	if TraceID(ctx) != validTraceID || trace.SpanContextFromContext(ctx).TraceState().Len() != 0 {
		t.Errorf("a bad tracestate: trace %q state %q", TraceID(ctx), trace.SpanContextFromContext(ctx).TraceState())
	}
	if TraceID(EnsureTrace(ctx)) != validTraceID {
		t.Error("EnsureTrace replaced a valid trace")
	}
}

func TestNATSRoundTrip(t *testing.T) {
	ctx := FromHTTP(context.Background(), http.Header{"Traceparent": {validParent}, "Tracestate": {"vendor=abc,qys=1"}})
	msg := &nats.Msg{Subject: "x"}
	ToNATS(ctx, msg)
	if got := msg.Header.Get(HeaderTraceparent); got != validParent {
		t.Fatalf("traceparent header %q, want %q", got, validParent)
	}
	if got := msg.Header.Get(HeaderTracestate); got != "vendor=abc,qys=1" {
		t.Fatalf("tracestate header %q", got)
	}
	back := FromNATS(context.Background(), msg.Header)
	if Traceparent(back) != validParent {
		t.Fatalf("back from NATS: %q", Traceparent(back))
	}
	empty := &nats.Msg{Subject: "y"}
	ToNATS(context.Background(), empty)
	if empty.Header != nil {
		t.Fatalf("a context without a trace set headers: %v", empty.Header)
	}
	if FromNATS(context.Background(), nil) != context.Background() {
		t.Fatal("FromNATS(nil) changed the context")
	}
	if TraceID(FromTraceparent(context.Background(), "junk")) != "" {
		t.Fatal("FromTraceparent took junk")
	}
}

// TestNothingConfigured: without an OTLP endpoint Setup installs nothing
// and starts no goroutine; spans are the no-op's (not recording) and the
// trace context is still carried.
func TestNothingConfigured(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, env := range []map[string]string{
		{},
		{"OTEL_SERVICE_NAME": "x"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"},
	} {
		shutdown, enabled, err := Setup(context.Background(), mapEnv(env))
		if err != nil || enabled {
			t.Fatalf("Setup(%v) = enabled %v, %v", env, enabled, err)
		}
		if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
			t.Fatalf("Setup(%v) installed the SDK", env)
		}
		if err := shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, span := Start(FromHTTP(context.Background(), http.Header{"Traceparent": {validParent}}), SpanReceive, trace.SpanKindServer)
	if span.IsRecording() {
		t.Fatal("a span records with nothing configured")
	}
	span.End()
	if TraceID(ctx) != validTraceID {
		t.Fatalf("the no-op tracer lost the trace: %q", TraceID(ctx))
	}
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines %d -> %d with nothing configured", before, after)
	}
}

func TestEndpoint(t *testing.T) {
	for env, want := range map[[2]string]string{
		{"http://c:4318", ""}:            "http://c:4318/v1/traces",
		{"http://c:4318/", ""}:           "http://c:4318/v1/traces",
		{"http://c:4318", "http://t/x"}:  "http://t/x",
		{"", "https://t:4318/v1/traces"}: "https://t:4318/v1/traces",
	} {
		got := endpoint(mapEnv(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": env[0], "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": env[1]}))
		if got != want {
			t.Errorf("endpoint(%v) = %q, want %q", env, got, want)
		}
	}
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// FuzzParse: Parse never panics, and what it accepts is a valid remote
// span context whose ids are the value's own and which Format writes
// back as a version 00 traceparent that Parse reads to the same context.
func FuzzParse(f *testing.F) {
	for _, s := range []string{validParent, "00-" + validTraceID + "-00f067aa0ba902b7-00",
		"cc-" + validTraceID + "-00f067aa0ba902b7-01-future", "ff-" + validTraceID + "-00f067aa0ba902b7-01", "", "00--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, ok := Parse(s)
		if !ok {
			if sc.IsValid() {
				t.Fatalf("Parse(%q) refused a valid context %v", s, sc)
			}
			return
		}
		if !sc.IsValid() || !sc.IsRemote() {
			t.Fatalf("Parse(%q) = %v: not a valid remote context", s, sc)
		}
		if len(s) < 55 || s[3:35] != sc.TraceID().String() || s[36:52] != sc.SpanID().String() {
			t.Fatalf("Parse(%q): ids %s %s are not the value's", s, sc.TraceID(), sc.SpanID())
		}
		if s[:2] == "00" && len(s) != 55 {
			t.Fatalf("Parse(%q): version 00 accepted at %d characters", s, len(s))
		}
		back, ok := Parse(Format(sc))
		if !ok || !back.Equal(sc) {
			t.Fatalf("Parse(Format(Parse(%q))) = %v %v, want %v", s, back, ok, sc)
		}
	})
}
