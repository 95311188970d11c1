package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/redact"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

// errLocalWrite refuses a local open that could write: operator writes go
// through the admin API of the running service.
var errLocalWrite = errors.New("cli: a command opens this machine's ledger read-only and never NATS; " +
	"writes go through the admin API (QYSHOOK_ADMIN_URL)")

// openOps opens this machine's data read-only, for a command that reads
// local files against the ledger (verify): the ledger read-only, the
// document store and the API clients, never NATS. A SQLite ledger must
// already exist. Failures map to ExitUnavailable with one line that never
// repeats a password.
func openOps(ctx context.Context, env *Env, parts app.Parts) (*app.Services, error) {
	if parts.NATS || (parts.Ledger && !parts.ReadOnlyLedger) {
		return nil, errLocalWrite
	}
	cfg, err := loadConfig(env, 0)
	if err != nil {
		return nil, err
	}
	if _, err := app.APIClients(cfg); err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	svc, err := app.Open(ctx, cfg, opsLogger(env, cfg), app.Parts{})
	if err != nil {
		return nil, err
	}
	if parts.Ledger {
		if err := sqliteLedgerExists(cfg); err != nil {
			svc.Close()
			return nil, err
		}
		// Opened here rather than by app.Open: ledgerdb returns a typed nil
		// on failure, which app.Open's cleanup would call Close on.
		ledger, err := ledgerdb.OpenReadOnly(ctx, cfg.DB.Reveal(), cfg.DataDir)
		if err != nil {
			svc.Close()
			return nil, unavailable(fmt.Errorf("database unavailable: %s", oneLine(redact.Error(err, cfg.DB.Reveal()))))
		}
		svc.Ledger = ledger
	}
	return svc, nil
}

// opsLogger is silent unless QYSHOOK_LOG_LEVEL asks for debug: a CLI's
// output is its tables and one error line.
func opsLogger(env *Env, cfg *config.Config) zerolog.Logger {
	if cfg.LogLevel > zerolog.DebugLevel {
		return zerolog.Nop()
	}
	return logger(env, cfg.LogLevel, "qyshook")
}
