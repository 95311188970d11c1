// Command receiver is qyshook's callback daemon: it verifies 契约锁
// callbacks and answers success only once they are durable on JetStream.
// It is configured by QYSHOOK_ environment variables (see the README) and
// serves /healthz, /readyz and /metrics beside the callback routes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "receiver: configuration:", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(2)
	}
	log := zerolog.New(os.Stderr).Level(cfg.LogLevel).With().Timestamp().
		Str("service", "receiver").Str("version", qys.Version).Logger()
	if err := app.Run(ctx, cfg, log, app.Roles{Receiver: true}, app.RunOptions{}); err != nil {
		log.Error().Err(err).Msg("receiver failed")
		os.Exit(1)
	}
}
