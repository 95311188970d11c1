package dispatcher

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tracing"
)

// parentOf is the trace context a message carries (its traceparent
// header, put there by the receiver), invalid when it has none.
func parentOf(ctx context.Context, m jetstream.Msg) trace.SpanContext {
	return trace.SpanContextFromContext(tracing.FromNATS(ctx, m.Headers()))
}

// startConfirm starts the confirm span of a group's detail fetch, in the
// trace of its first delivery, linked to the traces of the others (one
// fetch confirms them all).
func startConfirm(ctx context.Context, g *group) (context.Context, trace.Span) {
	first := g.deliveries[0]
	var links []trace.Link
	for _, dl := range g.deliveries[1:] {
		if dl.parent.IsValid() && dl.parent.TraceID() != first.parent.TraceID() {
			links = append(links, trace.Link{SpanContext: dl.parent})
		}
	}
	return tracing.Tracer().Start(trace.ContextWithRemoteSpanContext(ctx, first.parent), tracing.SpanConfirm,
		trace.WithLinks(links...), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("qyshook.tenant", first.env.Tenant),
			attribute.String("qyshook.contract_id", first.env.ContractID)))
}

// commitSpans are the commit spans of a transaction, one per delivery
// (each in its callback's trace).
type commitSpans []trace.Span

// start starts dl's commit span and stamps ch with its trace: the event's
// trace id, the facts' traceparent, which the relay publishes them under,
// and the change's, which the documents it queues keep for the archiver.
func (s *commitSpans) start(ctx context.Context, dl delivery, ch *store.ContractChange) {
	sctx, span := tracing.Start(trace.ContextWithRemoteSpanContext(ctx, dl.parent), tracing.SpanCommit,
		trace.SpanKindInternal, attribute.String("qyshook.event_id", dl.env.ID))
	*s = append(*s, span)
	ch.Event.TraceID = tracing.TraceID(sctx)
	ch.Traceparent = tracing.Traceparent(sctx)
	if tp := ch.Traceparent; tp != "" {
		for i := range ch.Facts {
			ch.Facts[i].Traceparent = tp
		}
	}
}

// fail marks every span of the transaction failed.
func (s commitSpans) fail(err error) {
	for _, span := range s {
		span.SetStatus(codes.Error, err.Error())
	}
}

// end ends the spans (a pointer receiver: deferred before they start).
// end ends the spans (a pointer receiver: it is deferred before they
// start).
func (s *commitSpans) end() {
	for _, span := range *s {
		span.End()
	}
}
