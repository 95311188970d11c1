// Package cli is the qyshook operator command line: serve, demo, sim,
// replay, dlq, contracts, certifications, reconcile, migrate, verify,
// evidence, bench and healthcheck, listed in one table (commands). Each
// command lives in its own file; cmd/qyshook/main.go only calls Main.
//
// evidence verify reads a bundle file and nothing else: no data dir, no
// database, no network, no environment.
//
// contracts, certifications, log, dlq, replay and reconcile are clients of a running service's
// admin API (QYSHOOK_ADMIN_URL, QYSHOOK_ADMIN_TOKEN; see client.go): they
// never open a ledger or a stream. migrate is the one command that opens
// the database itself; serve and demo are the service.
//
// Output is a readable table on a terminal and JSON with --json. Errors are
// one line on stderr, and exit codes mean something (see the Exit
// constants).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
)

// Exit codes.
const (
	ExitOK          = 0 // success
	ExitFailure     = 1 // the operation failed
	ExitUsage       = 2 // bad arguments or configuration
	ExitUnavailable = 3 // NATS or the database cannot be reached
	ExitNotFound    = 4 // the named contract, dead letter… does not exist
)

// Env is what a command may touch of the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Terminal is true when Stdout is a terminal (tables, progress bars).
	Terminal bool
}

// DefaultEnv is the process's environment.
func DefaultEnv() *Env {
	return &Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Terminal: isTerminal(os.Stdout)}
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string
	// Run executes the command with the arguments after its name.
	Run func(ctx context.Context, env *Env, args []string) error
}

// commands is every command, in the order `qyshook help` lists them:
// the one table of the CLI (no command registers itself).
var commands = []*Command{
	{Name: "serve", Summary: "run the receiver, the dispatcher and the admin API (embedded JetStream and SQLite by default)", Run: runServe},
	{Name: "demo", Summary: "see it work: serve plus a fake 契约锁 in one process, playing real lifecycles", Run: runDemo},
	{Name: "sim", Summary: "run a fake 契约锁 for local development; `sim trigger <scenario>` plays a lifecycle", Run: runSim},
	{Name: "contracts", Summary: "list the ledger's contracts, or show one with signatories, documents and events (admin API)",
		Run: subcommands("contracts", contractsSubs)},
	{Name: "log", Summary: "the receipt log: its head, inclusion proofs (by index, contract, event, fact or document) and consistency proofs, checked here (admin API)",
		Run: subcommands("log", logSubs)},
	{Name: "certifications", Summary: "list the ledger's certifications (--unconfirmed: those the API did not confirm), or show one (admin API)",
		Run: subcommands("certifications", certificationsSubs)},
	{Name: "dlq", Summary: "list, show, retry or purge dead letters (admin API)", Run: subcommands("dlq", dlqSubs)},
	{Name: "endpoints", Summary: "HTTP endpoints facts are delivered to, signed the Standard Webhooks way: add, list, show, test, rotate-secret, dead letters, replay (admin API)",
		Run: subcommands("endpoints", endpointsSubs)},
	{Name: "checkpoints", Summary: "the receipt log's signed checkpoints and their time-stamps: status, list, or request one now (admin API)",
		Run: subcommands("checkpoints", checkpointsSubs)},
	{Name: "replay", Summary: "republish a selection of QYS_CALLBACKS for the dispatchers to apply: dry run, then --yes (admin API)",
		Run: runReplay},
	{Name: "reconcile", Summary: "run one reconcile pass in the service and print what it did (admin API)", Run: runReconcile},
	{Name: "migrate", Summary: "apply, roll back or show the ledger's schema migrations ($QYSHOOK_DB; the one command that opens it)",
		Run: subcommands("migrate", migrateSubs)},
	{Name: "verify", Summary: "re-read the archive: size, sha256 and PDF signatures of archived documents against the ledger; --log: the receipt log against the rows and files it describes (read-only)",
		Run: runVerify},
	{Name: "evidence", Summary: "evidence bundles (证据包): verify FILE checks one offline — no data dir, database or network; export --contract ID downloads one through the admin API",
		Run: subcommands("evidence", evidenceSubs)},
	{Name: "bench", Summary: "measure the receiver, the dispatcher, archiving, a soak or a burst on this machine", Run: runBench},
	{Name: "doctor", Summary: "check configuration, NATS and streams, the ledger's migrations, API credentials and the clock; say how to fix what is wrong",
		Run: runDoctor},
	{Name: "healthcheck", Summary: "probe a qyshook /healthz or /readyz URL (for container HEALTHCHECKs)", Run: runHealthcheck},
}

// command returns the command named name, or nil.
func command(name string) *Command {
	for _, c := range commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// subcommands runs a command made of subcommands (contracts, dlq, migrate).
func subcommands(name string, subs []opsSub) func(ctx context.Context, env *Env, args []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		return runOpsSub(ctx, env, name, subs, args)
	}
}

// ExitError carries an exit code with its error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func usageErr(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

func unavailable(err error) error { return &ExitError{Code: ExitUnavailable, Err: err} }

func notFound(format string, args ...any) error {
	return &ExitError{Code: ExitNotFound, Err: fmt.Errorf(format, args...)}
}

// Main runs qyshook with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		usage(env.Stdout)
		return ExitUsage
	}
	if args[0] == "help" && len(args) > 1 {
		// qyshook help <command> [<subcommand>] is <command> [<subcommand>] -h.
		args = append(append([]string{}, args[1:]...), "-h")
	}
	if isHelp(args[0]) || args[0] == "help" {
		usage(env.Stdout)
		return ExitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(env.Stdout, "qyshook", Version())
		return ExitOK
	}
	cmd := command(args[0])
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "qyshook: unknown command %q (see qyshook help)\n", args[0])
		return ExitUsage
	}
	err := cmd.Run(ctx, env, args[1:])
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := ExitFailure
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	}
	fmt.Fprintf(env.Stderr, "qyshook %s: %s\n", cmd.Name, oneLine(err))
	return code
}

// oneLine folds a joined error into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "qyshook: verified 契约锁 callbacks, durable on NATS JetStream, and a ledger you can trust.")
	fmt.Fprintln(w, "\nUsage: qyshook <command> [flags]   (qyshook <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w, "\nConfiguration comes from QYSHOOK_* environment variables (see README). contracts, certifications, dlq,")
	fmt.Fprintln(w, "replay and reconcile are clients of a running service's admin API: set QYSHOOK_ADMIN_URL (default "+DefaultAdminURL+")")
	fmt.Fprintln(w, "and QYSHOOK_ADMIN_TOKEN. qyshook help <command> prints a command's help.")
}

// flagEnvs maps each flag set newFlags made to its command's Env, so
// parse can print a requested help on stdout.
var flagEnvs sync.Map // *flag.FlagSet -> *Env

// newFlags returns a flag set for a command that reports errors as usage
// errors instead of exiting. Errors and the usage they bring go to
// stderr; -h, -help and --help print the usage on stdout.
func newFlags(env *Env, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("qyshook "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: qyshook %s %s\n", name, argsUsage)
		fs.PrintDefaults()
	}
	flagEnvs.Store(fs, env)
	return fs
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h", "help":
		return arg != "help"
	}
	return false
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}

// parse parses flags, mapping problems to ExitUsage. A request for help
// prints the usage on stdout and returns flag.ErrHelp (exit 0).
func parse(fs *flag.FlagSet, args []string) error {
	if wantsHelp(args) {
		if e, ok := flagEnvs.Load(fs); ok {
			fs.SetOutput(e.(*Env).Stdout)
		}
		fs.Usage()
		return flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &ExitError{Code: ExitUsage, Err: err}
	}
	return nil
}

// loadConfig reads the configuration; needs says what must be set.
func loadConfig(env *Env, needs config.Need, opts ...config.Option) (*config.Config, error) {
	opts = append([]config.Option{config.WithNeeds(needs)}, opts...)
	cfg, err := config.Load(env.Getenv, opts...)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return cfg, nil
}

// logger is the JSON logger of daemons: to stderr at the configured level.
func logger(env *Env, level zerolog.Level, service string) zerolog.Logger {
	return zerolog.New(env.Stderr).Level(level).With().Timestamp().Str("service", service).
		Str("version", Version()).Logger()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
