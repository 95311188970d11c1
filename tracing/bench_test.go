package tracing

import (
	"context"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkReceivePathNoop is what the receiver adds to a callback with
// nothing configured (the no-op tracer): take or start the trace, the
// receive span, the NATS headers.
func BenchmarkReceivePathNoop(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"with-traceparent", http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}},
		{"without", http.Header{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx, span := Start(EnsureTrace(FromHTTP(context.Background(), tc.h)), SpanReceive, trace.SpanKindServer)
				msg := &nats.Msg{Subject: "s"}
				ToNATS(ctx, msg)
				span.End()
			}
		})
	}
}
