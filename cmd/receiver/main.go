// Command receiver is qyshook's callback daemon: it verifies 契约锁
// callbacks and answers success only once they are durable on JetStream.
// It is configured by QYSHOOK_ environment variables (see internal/config).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/receiver"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "receiver: configuration:\n%v\n", err)
		os.Exit(2)
	}
	log := zerolog.New(os.Stdout).Level(cfg.LogLevel).With().Timestamp().
		Str("service", "receiver").Str("version", version).Logger()
	m := receiver.NewMain(cfg, log)
	if err := m.Run(ctx); err != nil {
		log.Error().Err(err).Msg("start")
		os.Exit(1)
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	if err := m.Close(); err != nil {
		log.Error().Err(err).Msg("shutdown")
		os.Exit(1)
	}
}
