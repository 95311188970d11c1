// Command qyshook is the operator CLI: `qyshook serve` runs the receiver,
// the dispatcher and an embedded JetStream in one process; the other
// commands replay, inspect and repair. See `qyshook help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/qyshook/qyshook/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.DefaultEnv())
	stop()
	os.Exit(code)
}
