package relay

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tracing"
)

// publishFact publishes f asynchronously. A fact written with a trace
// context (store.Fact.Traceparent, the commit's) is published as a span
// of that trace, with its traceparent header; the others as before.
func (r *Relay) publishFact(ctx context.Context, f store.Fact, spans *publishSpans) (jetstream.PubAckFuture, error) {
	if f.Traceparent == "" {
		return r.js.PublishAsync(f.Subject, f.Payload, jetstream.WithMsgID(f.ID))
	}
	sctx, span := tracing.Start(tracing.FromTraceparent(ctx, f.Traceparent), tracing.SpanPublish, trace.SpanKindProducer,
		attribute.String("qyshook.fact_id", f.ID), attribute.String("messaging.destination.name", f.Subject))
	*spans = append(*spans, span)
	msg := &nats.Msg{Subject: f.Subject, Data: f.Payload}
	tracing.ToNATS(sctx, msg)
	return r.js.PublishMsgAsync(msg, jetstream.WithMsgID(f.ID))
}

// publishSpans are the publish spans of a batch, ended once its acks are
// in.
type publishSpans []trace.Span

// end ends the spans (a pointer receiver: it is deferred before they
// start).
func (s *publishSpans) end() {
	for _, span := range *s {
		span.End()
	}
}
