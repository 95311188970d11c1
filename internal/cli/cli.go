// Package cli is the qyshook operator command line: serve, demo, sim,
// replay, dlq, contracts, reconcile, migrate, bench and healthcheck. Each
// command lives in its own file; cmd/qyshook/main.go only calls Main.
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
	"sort"
	"strings"

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

// commands is filled by each command file's init.
var commands = map[string]*Command{}

func register(c *Command) { commands[c.Name] = c }

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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(env.Stdout, "qyshook", Version())
		return ExitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
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
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\nConfiguration comes from QYSHOOK_* environment variables (see README).")
}

// newFlags returns a flag set for a command that reports errors as usage
// errors instead of exiting.
func newFlags(env *Env, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("qyshook "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: qyshook %s %s\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, mapping problems to ExitUsage.
func parse(fs *flag.FlagSet, args []string) error {
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
