package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

func init() {
	register(&Command{Name: "reconcile", Summary: "compare the ledger with 契约锁's API once and publish triggers for what drifted", Run: runReconcile})
}

// opsNATSWait bounds how long a CLI command waits for NATS before it gives
// up with ExitUnavailable.
const opsNATSWait = 5 * time.Second

// reconcileReport is `reconcile --json`.
type reconcileReport struct {
	Since     time.Time `json:"since"`
	Tenants   []string  `json:"tenants"`
	Skipped   []string  `json:"skipped_tenants"`
	Checked   int       `json:"checked"`
	Triggered int       `json:"triggered"`
	Requeued  int       `json:"requeued_documents"`
	Error     string    `json:"error,omitempty"`
}

func runReconcile(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "reconcile", "[--since 72h|2006-01-02T15:04:05Z] [--json]")
	sinceFlag := fs.String("since", "", "list contracts published since this long ago or this RFC 3339 time "+
		"(default $QYSHOOK_RECONCILE_WINDOW or 72h)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, 0)
	if err != nil {
		return err
	}
	now := time.Now()
	window := cfg.Dispatch.ReconcileWindow
	if window <= 0 {
		window = 72 * time.Hour
	}
	since := now.Add(-window)
	if *sinceFlag != "" {
		if since, err = parseSince(*sinceFlag, now); err != nil {
			return opsUsage(fs, "--since: %v", err)
		}
	}
	rep := reconcileReport{Since: since.UTC(), Tenants: []string{}, Skipped: []string{}}
	for _, t := range cfg.Tenants {
		if !t.QYS.Credentials() {
			rep.Skipped = append(rep.Skipped, t.Name)
		} else {
			rep.Tenants = append(rep.Tenants, t.Name)
		}
	}
	if len(rep.Tenants) == 0 {
		return usageErr("no tenant has 契约锁 API credentials (set QYSHOOK_QYS_APP_TOKEN and QYSHOOK_QYS_APP_SECRET): nothing to reconcile")
	}
	svc, err := openOpsCfg(ctx, env, cfg, app.Parts{NATS: true, Ledger: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	res, runErr := svc.NewReconciler().RunOnce(ctx, since)
	rep.Checked, rep.Triggered, rep.Requeued = res.Checked, res.Triggered, res.Requeued
	if runErr != nil {
		rep.Error = oneLine(runErr)
	}
	if *asJSON {
		if err := printJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		for _, name := range rep.Skipped {
			fmt.Fprintf(env.Stdout, "tenant %s: skipped (no 契约锁 API credentials)\n", name)
		}
		fmt.Fprintf(env.Stdout, "reconciled %s since %s: checked %d contracts, published %d RECONCILE triggers\n",
			strings.Join(rep.Tenants, ", "), opsTime(rep.Since), rep.Checked, rep.Triggered)
		if rep.Requeued > 0 {
			fmt.Fprintf(env.Stdout, "queued %d failed or never-queued documents for the archive again\n", rep.Requeued)
		}
		if rep.Triggered > 0 || rep.Requeued > 0 {
			fmt.Fprintln(env.Stdout, "(a running dispatcher applies the triggers and archives the documents)")
		}
	}
	if runErr != nil {
		return fmt.Errorf("reconcile pass incomplete: %w", runErr)
	}
	return nil
}

// parseSince reads a duration back from now (72h) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: want a positive duration", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration such as 72h nor an RFC 3339 time", s)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("%q is in the future", s)
	}
	return t, nil
}

// openOps loads the configuration (no secrets required) and opens parts.
func openOps(ctx context.Context, env *Env, parts app.Parts) (*app.Services, error) {
	cfg, err := loadConfig(env, 0)
	if err != nil {
		return nil, err
	}
	return openOpsCfg(ctx, env, cfg, parts)
}

// openOpsCfg opens the ledger, then NATS (see opsNATSConfig; waiting at
// most opsNATSWait), mapping failures to ExitUnavailable with one line
// that never repeats a password. A SQLite ledger must already exist: a
// read or repair command never creates an empty one by mistake.
func openOpsCfg(ctx context.Context, env *Env, cfg *config.Config, parts app.Parts) (*app.Services, error) {
	if _, err := app.APIClients(cfg); err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	if parts.NATS {
		var err error
		if cfg, err = opsNATSConfig(cfg); err != nil {
			return nil, err
		}
	}
	log := opsLogger(env, cfg)
	var ledger store.Ledger
	if parts.Ledger {
		if err := sqliteLedgerExists(cfg); err != nil {
			return nil, err
		}
		// Opened here rather than by app.Open: ledgerdb.Open returns a
		// typed nil on failure, which app.Open's cleanup would call Close on.
		open := ledgerdb.Open
		if parts.ReadOnlyLedger {
			open = ledgerdb.OpenReadOnly
		}
		l, err := open(ctx, cfg.DB.Reveal(), cfg.DataDir)
		if err != nil {
			return nil, unavailable(fmt.Errorf("database unavailable: %s", opsRedact(err, cfg.DB.Reveal())))
		}
		ledger = l
	}
	wait := parts.WaitNATS
	if wait <= 0 {
		wait = opsNATSWait
	}
	svc, err := app.Open(ctx, cfg, log, app.Parts{NATS: parts.NATS, WaitNATS: wait})
	if err != nil {
		if ledger != nil {
			_ = ledger.Close()
		}
		if !parts.NATS {
			return nil, err
		}
		msg := opsRedact(err, cfg.NATSURL)
		if !strings.HasPrefix(msg, "nats") {
			msg = "nats: " + msg
		}
		return nil, unavailable(errors.New(msg))
	}
	svc.Ledger = ledger
	return svc, nil
}

// opsNATSConfig makes the CLI a client of the deployment's NATS. Without
// QYSHOOK_NATS_URL, app.Open would start a second embedded server on the
// data dir of a running qyshook serve (nats-server does not lock its
// store), so the CLI connects to QYSHOOK_EMBEDDED_NATS_ADDR instead, and
// refuses when neither is set.
func opsNATSConfig(cfg *config.Config) (*config.Config, error) {
	if cfg.NATSURL != "" {
		return cfg, nil
	}
	if cfg.EmbeddedNATSAddr == "" {
		return nil, usageErr("this command needs the deployment's NATS: set QYSHOOK_NATS_URL " +
			"(for qyshook serve on embedded defaults, run it with QYSHOOK_EMBEDDED_NATS_ADDR=127.0.0.1:4223 and set the same here)")
	}
	host, port, err := net.SplitHostPort(cfg.EmbeddedNATSAddr)
	if err != nil {
		return nil, usageErr("QYSHOOK_EMBEDDED_NATS_ADDR: %v", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := *cfg
	c.NATSURL, c.EmbeddedNATSAddr = "nats://"+net.JoinHostPort(host, port), ""
	return &c, nil
}

// opsLogger is silent unless QYSHOOK_LOG_LEVEL asks for debug: a CLI's
// output is its tables and one error line.
func opsLogger(env *Env, cfg *config.Config) zerolog.Logger {
	if cfg.LogLevel > zerolog.DebugLevel {
		return zerolog.Nop()
	}
	return logger(env, cfg.LogLevel, "qyshook")
}

// opsRedact returns err's text with rawURL, and the password in it,
// masked.
func opsRedact(err error, rawURL string) string {
	msg := oneLine(err)
	if rawURL == "" {
		return msg
	}
	var secrets []string
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			secrets = append(secrets, p, url.QueryEscape(p), url.PathEscape(p))
		}
		secrets = append(secrets, u.Redacted())
	}
	secrets = append(secrets, rawURL)
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}
