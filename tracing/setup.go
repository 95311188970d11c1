package tracing

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of the spans when
// OTEL_SERVICE_NAME is not set.
const DefaultServiceName = "qyshook"

// Enabled reports whether getenv asks for span export: an OTLP endpoint
// is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT), OTEL_SDK_DISABLED is not true and
// OTEL_TRACES_EXPORTER is not none.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != "" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != ""
}

// Setup installs the OpenTelemetry SDK as the global tracer provider,
// exporting over OTLP/HTTP (protobuf) in batches, when Enabled(getenv), to
// the endpoint getenv names; the exporter reads the other standard
// OTEL_EXPORTER_OTLP_* settings (headers, timeout, compression,
// certificates) from the environment itself, the resource
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, the sampler
// OTEL_TRACES_SAMPLER (default: parent-based, always on). Otherwise it
// installs nothing and starts nothing. shutdown flushes the spans in hand
// and stops the exporter (a no-op when nothing was installed).
func Setup(ctx context.Context, getenv func(string) string) (shutdown func(context.Context) error, enabled bool, err error) {
	if !Enabled(getenv) {
		return func(context.Context) error { return nil }, false, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint(getenv)))
	if err != nil {
		return nil, false, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	name := strings.TrimSpace(getenv("OTEL_SERVICE_NAME"))
	if name == "" {
		name = DefaultServiceName
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(name)))
	if err != nil {
		res = resource.Default()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	installed.Store(true)
	return func(ctx context.Context) error {
		err := tp.Shutdown(ctx)
		installed.Store(false)
		otel.SetTracerProvider(noop.NewTracerProvider())
		return err
	}, true, nil
}

// endpoint is the URL spans are posted to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// as it is, else OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended (as
// the OpenTelemetry spec says for OTLP/HTTP).
func endpoint(getenv func(string) string) string {
	if u := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); u != "" {
		return u
	}
	return strings.TrimRight(strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")), "/") + "/v1/traces"
}

// installed is set while Setup's SDK is the global provider.
var installed atomic.Bool
