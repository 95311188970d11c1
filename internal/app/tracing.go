package app

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/tracing"
)

// startTracing sets up span export over OTLP/HTTP when the OTEL_*
// settings ask for it (tracing.Setup; docs/configuration.md) and returns
// what flushes and stops it. With nothing set it starts nothing. A
// collector that cannot be set up is logged, never fatal: traces are an
// aid, the callbacks are the job.
func startTracing(ctx context.Context, log zerolog.Logger) (stop func()) {
	shutdown, enabled, err := tracing.Setup(ctx, os.Getenv)
	if err != nil {
		log.Warn().Err(err).Msg("tracing: not exporting spans")
		return func() {}
	}
	if !enabled {
		return func() {}
	}
	log.Info().Msg("tracing: exporting spans over OTLP/HTTP")
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn().Err(err).Msg("tracing: flushing spans at shutdown failed")
		}
	}
}
