// Command dispatcher consumes QYS_CALLBACKS into the ledger: it confirms
// contract callbacks through the 契约锁 API, archives signed documents,
// publishes ledger facts, dead-letters what cannot be applied and
// reconciles what callbacks missed. It serves /healthz, /readyz and
// /metrics on QYSHOOK_HTTP_ADDR (default :8081).
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
	cfg, err := config.Load(os.Getenv, config.WithDefaultHTTPAddr(config.DefaultDispatcherAddr), config.WithNeeds(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher: configuration:", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(2)
	}
	log := zerolog.New(os.Stderr).Level(cfg.LogLevel).With().Timestamp().
		Str("service", "dispatcher").Str("version", qys.Version).Logger()
	if err := app.Run(ctx, cfg, log, app.Roles{Dispatcher: true}, app.RunOptions{}); err != nil {
		log.Error().Err(err).Msg("dispatcher failed")
		os.Exit(1)
	}
}
