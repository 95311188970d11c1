package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/qyshook/qyshook/internal/bench"
	"github.com/qyshook/qyshook/internal/config"
)

const benchUsage = "Usage: qyshook bench receiver|dispatcher|archive|soak|burst|conns [flags]   (qyshook bench <name> -h for its flags)\n" +
	"  receiver    callbacks/s through the receiver ÷ a bare net/http no-op and ÷ its router no-op, interleaved rounds (fsync always vs an interval)\n" +
	"  dispatcher  events/s from QYS_CALLBACKS into the ledger, interleaved rounds (SQLite, PostgreSQL, or both)\n" +
	"  archive     documents/s through the archive stage\n" +
	"  soak        serve's wiring under sustained contract lifecycles: accepted/s, p50/p99, callback→fact lag, RSS per interval\n" +
	"  burst       N callbacks as fast as they come, then the drain: accept rate, drain rate first/last 10 %, disk and RSS per million\n" +
	"  delivery    facts/s from QYS_LEDGER to a local no-op HTTP endpoint through the delivery stage ÷ the raw HTTP client's rate, interleaved rounds\n" +
	"  conns       a running qyshook's memory with thousands of idle keep-alive connections (QYSHOOK_MAX_CONNS)"

func runBench(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && (isHelp(args[0]) || args[0] == "help") {
		fmt.Fprintln(env.Stdout, benchUsage)
		return flag.ErrHelp
	}
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, benchUsage)
		return usageErr("which benchmark? qyshook bench receiver|dispatcher|archive|soak|burst [flags]")
	}
	what, args := args[0], args[1:]
	fs := newFlags(env, "bench "+what, "[flags]")
	switch what {
	case "receiver":
		return benchReceiver(ctx, env, fs, args)
	case "dispatcher":
		return benchDispatcher(ctx, env, fs, args)
	case "soak":
		return benchSoak(ctx, env, fs, args)
	case "burst":
		return benchBurst(ctx, env, fs, args)
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
	case "delivery":
		n := fs.Int("n", 5000, "facts per round")
		c := fs.Int("concurrency", 16, "the endpoint's concurrency, and the raw client's requests in flight")
		rounds := fs.Int("rounds", 3, "interleaved rounds; the medians are reported")
		cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (raw client, delivery stage and no-op endpoint together) to this file")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *n <= 0 || *c <= 0 || *c > 256 || *rounds <= 0 {
			return usageErr("-n and -rounds must be positive, -concurrency 1 to 256")
		}
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		res, err := bench.RunDelivery(ctx, bench.DeliveryOptions{Facts: *n, Concurrency: *c, Rounds: *rounds})
		if err != nil {
			return err
		}
		fmt.Fprint(env.Stdout, res)
	case "conns":
		u := fs.String("url", "http://127.0.0.1:8080", "the running qyshook's HTTP root (its /healthz and /metrics)")
		n := fs.Int("n", 5000, "idle keep-alive connections to open, one request each")
		hold := fs.Duration("hold", 0, "then keep them idle this long (past QYSHOOK_IDLE_TIMEOUT) and measure again")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *n <= 0 || *hold < 0 {
			return usageErr("-n must be positive and -hold not negative")
		}
		res, err := bench.RunConns(ctx, bench.ConnsOptions{URL: *u, Conns: *n, Hold: *hold})
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, res)
	default:
		return usageErr("unknown benchmark %q: receiver, dispatcher, archive, soak, burst, delivery or conns", what)
	}
	return nil
}

// relaxedSync is the interval "-sync both" compares with: nats-server's
// own default.
const relaxedSync = 2 * time.Minute

// benchSyncs parses -sync into the fsync intervals to run (0: always,
// grouped; bench.SyncEachWrite: each write).
func benchSyncs(v string) ([]time.Duration, error) {
	switch strings.ToLower(v) {
	case "both":
		return []time.Duration{0, relaxedSync}, nil
	case "all":
		return []time.Duration{bench.SyncEachWrite, 0, relaxedSync}, nil
	case "always":
		return []time.Duration{0}, nil
	case config.SyncEachWrite:
		return []time.Duration{bench.SyncEachWrite}, nil
	case config.SyncGroupedSyncfs:
		return []time.Duration{bench.SyncGroupedFS}, nil
	case "groupings":
		return []time.Duration{bench.SyncGroupedFS, 0}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return nil, usageErr("-sync %q: want always, each-write, grouped-syncfs, both, all, groupings or a positive interval such as 2m", v)
	}
	return []time.Duration{d}, nil
}

func benchReceiver(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
	conc := fs.Int("c", bench.DefaultConcurrency, "concurrent keep-alive connections")
	n := fs.Int("n", bench.DefaultCount, "callbacks per run (built before the clock starts)")
	dur := fs.Duration("d", 0, "send for this long per run instead of -n (callbacks built during the run)")
	rounds := fs.Int("rounds", bench.DefaultRounds, "interleaved rounds: bare net/http no-op, router no-op, then the receiver per -sync setting; the median ratios are reported")
	syncFlag := fs.String("sync", "both", "embedded store fsync: always (grouped), each-write, grouped-syncfs, an interval such as 2m, both (always and 2m in each round), all (each-write, always and 2m) or groupings (grouped-syncfs and always)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (generator, no-op and receiver together) to this file")
	natsURL := fs.String("nats-url", "", "run the receiver against this NATS server or cluster instead of an embedded one (-sync unused; streams in a namespace of their own, deleted afterwards)")
	replicas := fs.Int("replicas", 1, "stream replicas with -nats-url")
	serve := fs.Bool("serve", false, "measure nothing: serve the bare net/http no-op, the router no-op and the receiver (the first -sync setting) on 127.0.0.1 for an outside load generator, print their URLs, and wait for an interrupt")
	bodies := fs.String("bodies", "", "with -serve: write -n signed callbacks to this directory (body-NNNNNN) and a target list per endpoint (targets-bare.txt, targets-noop.txt, targets-receiver.txt: vegeta's http format)")
	portFlag := fs.String("port", "none", "embedded server's client port (QYSHOOK_EMBEDDED_NATS_ADDR): none, subscribe (clients may only subscribe, the default access), publish (QYSHOOK_EMBEDDED_NATS_ACCESS=publish), both (none and subscribe in each round) or all")
	if err := parse(fs, args); err != nil {
		return err
	}
	ports, ok := map[string][]string{"none": {""}, "subscribe": {"subscribe"}, "publish": {"publish"},
		"both": {"", "subscribe"}, "all": {"", "subscribe", "publish"}}[*portFlag]
	if !ok {
		return usageErr("-port %q: want none, subscribe, publish, both or all", *portFlag)
	}
	if *conc <= 0 || *n <= 0 || *dur < 0 || *rounds <= 0 || *replicas <= 0 {
		return usageErr("-c, -n, -rounds and -replicas must be positive and -d not negative")
	}
	if *replicas != 1 && *natsURL == "" {
		return usageErr("-replicas needs -nats-url (the embedded server is a single node)")
	}
	syncs, err := benchSyncs(*syncFlag)
	if err != nil {
		return err
	}
	if *bodies != "" && !*serve {
		return usageErr("-bodies needs -serve")
	}
	if *serve {
		if *dur > 0 || *natsURL != "" || len(ports) != 1 || ports[0] != "" {
			return usageErr("-serve takes -n, -sync and -bodies (not -d, -nats-url or -port)")
		}
		return bench.ServeReceiver(ctx, bench.ServeOptions{BenchOptions: bench.BenchOptions{Count: *n, SyncInterval: syncs[0]},
			Bodies: *bodies, Out: env.Stdout}, nil)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := bench.RunReceiverRounds(ctx, bench.RoundsOptions{BenchOptions: bench.BenchOptions{Concurrency: *conc, Count: *n, Duration: *dur,
		NATSURL: *natsURL, Replicas: *replicas},
		Rounds: *rounds, Syncs: syncs, Ports: ports, Progress: env.Stdout})
	if err != nil {
		return err
	}
	fmt.Fprint(env.Stdout, res.Summary())
	return nil
}

func benchDispatcher(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "sqlite", "ledgers, comma-separated: sqlite and/or a postgres:// URL (a scratch schema is created and dropped); with two, each round runs both and prints the second ÷ the first")
	n := fs.Int("n", 20000, "events to pre-fill")
	per := fs.Int("per-contract", 4, "events per contract")
	rounds := fs.Int("rounds", 1, "interleaved rounds over the -db ledgers; the median ratio is reported")
	rows := fs.Int("ledger-rows", 0, "grow the ledger first with a year of history: this many events and outbox facts, half as many contracts and documents (not timed)")
	tmpl := fs.String("ledger-template", "", "SQLite: start from a copy of this grown ledger file, created with -ledger-rows when missing")
	slow := fs.Bool("slow-docs", false, "also run with every contract signed and archived beside the dispatcher, first with no slow download, then with one document in ten hung for the whole run")
	noLog := fs.Bool("no-receipt-log", false, "write no receipt log: the baseline its cost is measured against (the ledger then fails verify --log); same as -receipt-log off")
	logMode := fs.String("receipt-log", "on", "on, off (the baseline: the ledger then fails verify --log) or both: each round runs every ledger with the log and without it, and the ratio with ÷ without is printed per ledger")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (dispatcher, fake 契约锁, embedded NATS and SQLite together) to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	var logBoth bool
	switch *logMode {
	case "on":
	case "off":
		*noLog = true
	case "both":
		if *noLog {
			return usageErr("-no-receipt-log and -receipt-log both: choose one")
		}
		logBoth = true
	default:
		return usageErr("-receipt-log %q: want on, off or both", *logMode)
	}
	if *n <= 0 || *per <= 0 || *rounds <= 0 || *rows < 0 {
		return usageErr("-n, -per-contract and -rounds must be positive, -ledger-rows not negative")
	}
	dbs, err := benchDBs(*db)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	o := bench.DispatcherOptions{Events: *n, PerContract: *per, LedgerRows: *rows, LedgerTemplate: *tmpl, NoReceiptLog: *noLog}
	res, err := bench.RunDispatcherRounds(ctx, o, dbs, *rounds, logBoth, env.Stdout)
	if err != nil {
		return err
	}
	fmt.Fprint(env.Stdout, res.Ratios())
	if !*slow {
		return nil
	}
	for _, d := range dbs {
		for _, o := range []bench.DispatcherOptions{{DB: d, Events: *n, PerContract: *per, Documents: true},
			{DB: d, Events: *n, PerContract: *per, Documents: true, SlowEvery: 10}} {
			r, err := bench.RunDispatcher(ctx, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, r)
		}
	}
	return nil
}

// benchDBs parses -db: comma-separated ledgers, each sqlite or a
// postgres:// URL.
func benchDBs(v string) ([]string, error) {
	var dbs []string
	for _, d := range strings.Split(v, ",") {
		d = strings.TrimSpace(d)
		switch {
		case d == "sqlite":
		case strings.HasPrefix(d, "postgres://"), strings.HasPrefix(d, "postgresql://"):
		default:
			return nil, usageErr("-db %q: want sqlite or a postgres:// URL, comma-separated", d)
		}
		dbs = append(dbs, d)
	}
	return dbs, nil
}

// benchDB parses a single -db.
func benchDB(v string) (string, error) {
	dbs, err := benchDBs(v)
	if err != nil {
		return "", err
	}
	if len(dbs) != 1 {
		return "", usageErr("-db: want one ledger, got %d", len(dbs))
	}
	return dbs[0], nil
}

// benchSync parses a single fsync setting (0: always).
func benchSync(v string) (time.Duration, error) {
	syncs, err := benchSyncs(v)
	if err != nil || len(syncs) != 1 {
		return 0, usageErr("-sync %q: want always, each-write, grouped-syncfs or a positive interval such as 2m", v)
	}
	return syncs[0], nil
}

func benchSoak(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
	dur := fs.Duration("d", bench.DefaultSoakDuration, "how long the load runs")
	interval := fs.Duration("interval", bench.DefaultSoakInterval, "report every")
	workers := fs.Int("c", bench.DefaultSoakWorkers, "contract lifecycles played at once")
	rate := fs.Int("rate", 0, "cap on lifecycles started per second (0: as fast as they are answered)")
	db := fs.String("db", "sqlite", "ledger: sqlite, or a postgres:// URL (a scratch schema is created and dropped)")
	syncFlag := fs.String("sync", "always", "embedded store fsync (QYSHOOK_NATS_SYNC): always, each-write, grouped-syncfs, or an interval such as 2m")
	cpInterval := fs.Duration("checkpoint-interval", 0, "receipt log checkpoint interval (QYSHOOK_LOG_CHECKPOINT_INTERVAL; 0: its default), anchored by the fake's time-stamping authority")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dur <= 0 || *interval <= 0 || *workers <= 0 || *rate < 0 || *cpInterval < 0 {
		return usageErr("-d, -interval and -c must be positive and -rate not negative")
	}
	d, err := benchDB(*db)
	if err != nil {
		return err
	}
	sync, err := benchSync(*syncFlag)
	if err != nil {
		return err
	}
	res, err := bench.RunSoak(ctx, bench.SoakOptions{Duration: *dur, Interval: *interval, Workers: *workers, Rate: *rate,
		DB: d, SyncInterval: sync, CheckpointInterval: *cpInterval, Out: env.Stdout})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, res)
	return nil
}

func benchBurst(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
	n := fs.Int("n", bench.DefaultBurst, "callbacks to send, one contract each")
	conc := fs.Int("c", bench.DefaultConcurrency, "concurrent keep-alive connections")
	dispatch := fs.Bool("dispatch", false, "run the dispatcher during the burst (default: stopped until all are accepted, so the accept rate, disk and RSS held are measured first)")
	db := fs.String("db", "sqlite", "ledger: sqlite, or a postgres:// URL (a scratch schema is created and dropped)")
	syncFlag := fs.String("sync", "always", "embedded store fsync (QYSHOOK_NATS_SYNC): always, each-write, grouped-syncfs, or an interval such as 2m")
	dupWindow := fs.Duration("dup-window", 0, "the callback stream's duplicate window (QYSHOOK_DUPLICATE_WINDOW, 1m to 720h; 0: the default, 48h): its message ids are most of the memory held per callback")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the drain (the dispatcher stopped) or of the whole run (-dispatch) to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n <= 0 || *conc <= 0 || *dupWindow < 0 {
		return usageErr("-n and -c must be positive, -dup-window not negative")
	}
	d, err := benchDB(*db)
	if err != nil {
		return err
	}
	sync, err := benchSync(*syncFlag)
	if err != nil {
		return err
	}
	o := bench.BurstOptions{N: *n, Concurrency: *conc, Dispatch: *dispatch, DB: d,
		SyncInterval: sync, DuplicateWindow: *dupWindow, Out: env.Stdout}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Profile = f
	}
	res, err := bench.RunBurst(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, res)
	return nil
}
