package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/qyshook/qyshook/internal/bench"
)

const benchUsage = "Usage: qyshook bench receiver|dispatcher|archive [flags]   (qyshook bench <name> -h for its flags)\n" +
	"  receiver    callbacks/s through the receiver into JetStream (fsync always vs an interval)\n" +
	"  dispatcher  events/s from QYS_CALLBACKS into the ledger (SQLite or PostgreSQL)\n" +
	"  archive     documents/s through the archive stage"

func runBench(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && (isHelp(args[0]) || args[0] == "help") {
		fmt.Fprintln(env.Stdout, benchUsage)
		return flag.ErrHelp
	}
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, benchUsage)
		return usageErr("which benchmark? qyshook bench receiver|dispatcher|archive [flags]")
	}
	what, args := args[0], args[1:]
	fs := newFlags(env, "bench "+what, "[flags]")
	switch what {
	case "receiver":
		conc := fs.Int("c", bench.DefaultConcurrency, "concurrent connections")
		n := fs.Int("n", bench.DefaultCount, "callbacks to send")
		dur := fs.Duration("d", 0, "send for this long instead of -n")
		syncFlag := fs.String("sync", "both", "embedded store fsync: always, an interval such as 2m, or both (always, then 2m)")
		if err := parse(fs, args); err != nil {
			return err
		}
		syncs, err := benchSyncs(*syncFlag)
		if err != nil {
			return err
		}
		for i, sync := range syncs {
			res, err := bench.RunReceiver(ctx, bench.BenchOptions{Concurrency: *conc, Count: *n, Duration: *dur,
				SyncInterval: sync, SkipNoop: i > 0})
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, res)
		}
	case "dispatcher":
		db := fs.String("db", "sqlite", "ledger: sqlite, or a postgres:// URL (a scratch schema is created and dropped)")
		n := fs.Int("n", 20000, "events to pre-fill")
		per := fs.Int("per-contract", 4, "events per contract")
		rows := fs.Int("ledger-rows", 0, "grow the ledger first with a year of history: this many events and outbox facts, half as many contracts and documents (not timed)")
		tmpl := fs.String("ledger-template", "", "SQLite: start from a copy of this grown ledger file, created with -ledger-rows when missing")
		slow := fs.Bool("slow-docs", false, "also run with every contract signed and archived beside the dispatcher, first with no slow download, then with one document in ten hung for the whole run")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *n <= 0 || *per <= 0 || *rows < 0 {
			return usageErr("-n and -per-contract must be positive, -ledger-rows not negative")
		}
		runs := []bench.DispatcherOptions{{DB: *db, Events: *n, PerContract: *per, LedgerRows: *rows, LedgerTemplate: *tmpl}}
		if *slow {
			runs = append(runs, bench.DispatcherOptions{DB: *db, Events: *n, PerContract: *per, Documents: true},
				bench.DispatcherOptions{DB: *db, Events: *n, PerContract: *per, Documents: true, SlowEvery: 10})
		}
		for _, o := range runs {
			res, err := bench.RunDispatcher(ctx, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, res)
		}
	case "archive":
		size := fs.Int64("size-mib", 512, "document size in MiB")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *size <= 0 {
			return usageErr("-size-mib must be positive")
		}
		res, err := bench.RunArchive(ctx, *size<<20, "")
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, res)
	default:
		return usageErr("unknown benchmark %q: receiver, dispatcher or archive", what)
	}
	return nil
}

// relaxedSync is the interval "-sync both" compares with: nats-server's
// own default.
const relaxedSync = 2 * time.Minute

// benchSyncs parses -sync into the fsync intervals to run (0: always).
func benchSyncs(v string) ([]time.Duration, error) {
	switch strings.ToLower(v) {
	case "both":
		return []time.Duration{0, relaxedSync}, nil
	case "always":
		return []time.Duration{0}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return nil, usageErr("-sync %q: want always, both or a positive interval such as 2m", v)
	}
	return []time.Duration{d}, nil
}
