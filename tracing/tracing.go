// Package tracing carries W3C trace context (traceparent, tracestate)
// from a callback's HTTP request through the NATS messages of the
// pipeline, and sets up the OpenTelemetry SDK to export spans over
// OTLP/HTTP when the standard OTEL_EXPORTER_OTLP_* settings ask for it.
// Without them the global tracer stays OpenTelemetry's no-op one: spans
// cost nothing, no exporter or goroutine runs, and the trace context is
// still carried (so the ledger records a trace id a proxy can match).
//
// It is a library: stages import it, it imports no stage.
package tracing

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Header names of W3C trace context (https://www.w3.org/TR/trace-context/),
// used on HTTP requests and NATS messages alike.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Span names of the pipeline, one per step of a callback.
const (
	SpanReceive = "qyshook.receive" // receiver: verify and publish to QYS_CALLBACKS
	SpanConfirm = "qyshook.confirm" // dispatcher: the platform API's detail fetch
	SpanCommit  = "qyshook.commit"  // dispatcher: the ledger transaction
	SpanArchive = "qyshook.archive" // archiver: a document's download
	SpanPublish = "qyshook.publish" // relay: a fact published on QYS_LEDGER
)

// instrumentation is the tracer's name.
const instrumentation = "github.com/qyshook/qyshook"

// Tracer is the tracer of the pipeline's spans, from the global provider
// (a no-op one unless Setup installed the SDK).
func Tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(instrumentation) }

// Start starts a span named name, child of the span context in ctx.
func Start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return Tracer().Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// EnsureTrace returns ctx when it carries a valid span context, else ctx
// with a new one (random trace and span ids, not sampled): a callback
// without a traceparent still gets a trace id of its own. The SDK's
// sampler, when it is set up, starts its own root instead, so this only
// matters with the no-op tracer.
func EnsureTrace(ctx context.Context) context.Context {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	if installed.Load() {
		return ctx // the SDK makes the root span
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	var tid trace.TraceID
	var sid trace.SpanID
	copy(tid[:], b[:16])
	copy(sid[:], b[16:])
	return trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
}

// TraceID is the trace id (32 lowercase hex digits) of ctx's span
// context, "" when it has none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// Traceparent is the traceparent value of ctx's span context, "" when it
// has none.
func Traceparent(ctx context.Context) string { return Format(trace.SpanContextFromContext(ctx)) }

// Parse reads a traceparent value as the W3C Trace Context spec defines
// it (version-traceid-parentid-flags, lowercase hex): a version other
// than 00 may carry more fields after a dash; version ff, all-zero ids,
// uppercase or short fields, and version 00 with reserved flag bits are
// invalid. ok is false for anything invalid: the caller starts a new
// trace instead. OpenTelemetry's propagation.TraceContext does the
// parsing; only the sampled flag is kept (Format writes 00 or 01).
func Parse(s string) (sc trace.SpanContext, ok bool) {
	return parse(s, "")
}

// parse reads traceparent and tracestate with propagation.TraceContext.
// An invalid tracestate is dropped, the traceparent kept (as the spec
// says).
func parse(traceparent, tracestate string) (trace.SpanContext, bool) {
	carrier := propagation.MapCarrier{HeaderTraceparent: traceparent}
	if tracestate != "" {
		carrier[HeaderTracestate] = tracestate
	}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	if !sc.IsValid() {
		return trace.SpanContext{}, false
	}
	return sc.WithTraceFlags(sc.TraceFlags() & trace.FlagsSampled), true
}

// Format writes sc as a version 00 traceparent, "" when sc is invalid.
func Format(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	flags := "00"
	if sc.IsSampled() {
		flags = "01"
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + flags
}

// extract returns ctx with the remote span context of traceparent and
// tracestate, or ctx unchanged when traceparent is missing, repeated or
// invalid. An invalid tracestate is dropped, the traceparent kept (as
// the spec says).
func extract(ctx context.Context, parents, states []string) context.Context {
	if len(parents) != 1 {
		return ctx
	}
	sc, ok := parse(parents[0], strings.Join(states, ","))
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// FromHTTP returns ctx with the trace context of an HTTP request's
// headers (see extract): a malformed traceparent is ignored, never an
// error.
func FromHTTP(ctx context.Context, h http.Header) context.Context {
	return extract(ctx, h.Values(HeaderTraceparent), h.Values(HeaderTracestate))
}

// FromNATS returns ctx with the trace context of a NATS message's headers
// (see extract).
func FromNATS(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return extract(ctx, h.Values(HeaderTraceparent), h.Values(HeaderTracestate))
}

// FromTraceparent returns ctx with the remote span context of a stored
// traceparent value, or ctx unchanged when it is empty or invalid.
func FromTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return extract(ctx, []string{traceparent}, nil)
}

// ToNATS sets msg's traceparent (and tracestate) headers from ctx's span
// context; it leaves msg alone when ctx has none.
func ToNATS(ctx context.Context, msg *nats.Msg) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	msg.Header.Set(HeaderTraceparent, Format(sc))
	if ts := sc.TraceState().String(); ts != "" {
		msg.Header.Set(HeaderTracestate, ts)
	} else {
		msg.Header.Del(HeaderTracestate)
	}
}
