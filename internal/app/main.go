package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
)

// Main is the whole of cmd/receiver and cmd/dispatcher: -h/--help and
// --version answer without starting (any other argument: one line, exit
// 2), then configuration from the QYSHOOK_* environment (one line and exit 2 when it is wrong), a JSON
// logger on stderr, and Run with the roles until SIGINT or SIGTERM. It
// returns the process exit code.
func Main(service string, roles Roles, opts ...config.Option) int {
	if code, done := flags(service, roles, os.Args[1:], os.Stdout, os.Stderr); done {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(os.Getenv, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, service+": configuration:", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 2
	}
	log := zerolog.New(os.Stderr).Level(cfg.LogLevel).With().Timestamp().
		Str("service", service).Str("version", qys.Version).Logger()
	if err := Run(ctx, cfg, log, roles, RunOptions{}); err != nil {
		log.Error().Err(err).Msg(service + " failed")
		return 1
	}
	return 0
}
