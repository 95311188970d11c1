package archiver

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tracing"
)

// startArchive starts the archive span of a document's download, in the
// trace of the commit that queued it (store.Document.Traceparent).
func startArchive(ctx context.Context, d store.Document) (context.Context, trace.Span) {
	return tracing.Start(tracing.FromTraceparent(ctx, d.Traceparent), tracing.SpanArchive, trace.SpanKindClient,
		attribute.String("qyshook.tenant", d.Tenant), attribute.String("qyshook.contract_id", d.ContractID),
		attribute.String("qyshook.document_id", d.ID))
}

// traceFailed marks the span of a failed download.
func traceFailed(span trace.Span, err error) { span.SetStatus(codes.Error, err.Error()) }

// traceFacts gives the facts of an archived document the archive span's
// trace context: the relay publishes them in the callback's trace.
func traceFacts(ctx context.Context, facts []store.Fact) {
	tp := tracing.Traceparent(ctx)
	for i := range facts {
		facts[i].Traceparent = tp
	}
}
