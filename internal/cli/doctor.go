package cli

import (
	"context"
	"fmt"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
)

// runDoctor checks what the service needs, from this shell's settings,
// without changing anything: the configuration, NATS and the stream
// settings, the ledger and its migrations (read-only), the open-API
// credentials and the clock. It prints one row per check and exits
// non-zero when any fails.
func runDoctor(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "doctor", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return opsUsage(fs, "doctor takes no arguments")
	}
	t := newTable(env.Stdout, "CHECK", "OK", "SEEN", "FIX")
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		t.row("configuration", "no", err.Error(), "set the variables named (README, Configuration)")
		_ = t.flush()
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("doctor: configuration refused")}
	}
	t.row("configuration", "yes", "loaded", "")
	failed := 0
	for _, f := range app.Doctor(ctx, cfg) {
		ok := "yes"
		if !f.OK {
			ok, failed = "no", failed+1
		}
		t.row(f.Check, ok, f.Seen, f.Fix)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("doctor: %d check(s) failed", failed)}
	}
	return nil
}
