package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/receiver"
)

// DefaultRounds is how many interleaved rounds the round benchmarks run.
const DefaultRounds = 3

// RoundsOptions configures RunReceiverRounds.
type RoundsOptions struct {
	BenchOptions
	// Rounds is how many rounds to run (default DefaultRounds). Each
	// round runs the bare net/http no-op, the receiver's router no-op,
	// then the receiver once per fsync setting, so every ratio compares
	// runs seconds apart.
	Rounds int
	// Syncs are the embedded store's fsync settings to run (0: fsync
	// before every PubAck; positive: that interval). Default: {0}.
	Syncs []time.Duration
	// Ports are the client-port settings to run each fsync setting with
	// (BenchOptions.ListenAccess values; default {""}: no port).
	Ports []string
	// Progress, when set, receives each row as it is measured.
	Progress io.Writer
}

// RoundRow is one measured run of a round.
type RoundRow struct {
	Round int
	// Target is "bare" (BareNoop on a plain http.Server), "no-op" (the
	// receiver's router and middlewares, receiver.NewNoopHandler, on
	// qyshook's HTTP server) or "receiver".
	Target string
	// Sync is the receiver's fsync setting ("" for the no-op).
	Sync      string
	Requests  int // answered success
	Errors    int
	PerSec    float64
	P50, P99  time.Duration
	CPUPerReq time.Duration // process CPU time per request, generator included
	// Ratio is PerSec ÷ the same round's no-op PerSec (receiver rows).
	Ratio float64
	// BareRatio is PerSec ÷ the same round's bare PerSec (no-op and
	// receiver rows).
	BareRatio float64
}

// RoundsResult is the outcome of RunReceiverRounds.
type RoundsResult struct {
	Concurrency int
	Rows        []RoundRow
	// Syncs names the fsync settings in the order they ran.
	Syncs []string
}

// Bare is the target name of the bare net/http no-op (BareNoop).
const Bare = "bare"

// target is the target of the rows of a sync setting: "no-op" for "",
// else "receiver"; Bare is itself.
func target(sync string) string {
	switch sync {
	case "":
		return "no-op"
	case Bare:
		return Bare
	}
	return "receiver"
}

// rowsOf returns f of every row of one target (see target).
func rowsOf[T any](r *RoundsResult, sync string, f func(RoundRow) T) []T {
	var xs []T
	want := target(sync)
	for _, row := range r.Rows {
		if row.Target == want && (want != "receiver" || row.Sync == sync) {
			xs = append(xs, f(row))
		}
	}
	return xs
}

// MedianRatio is the median over the rounds of receiver ÷ no-op for one
// fsync setting.
func (r *RoundsResult) MedianRatio(sync string) float64 {
	return Median(rowsOf(r, sync, func(row RoundRow) float64 { return row.Ratio }))
}

// MedianBareRatio is the median over the rounds of the receiver with one
// fsync setting (or the no-op, for "") ÷ the bare net/http no-op.
func (r *RoundsResult) MedianBareRatio(sync string) float64 {
	return Median(rowsOf(r, sync, func(row RoundRow) float64 { return row.BareRatio }))
}

// MedianCPU is the median CPU time per request of the no-op (sync ""),
// of the bare no-op (Bare) or of the receiver with one fsync setting.
func (r *RoundsResult) MedianCPU(sync string) time.Duration {
	return MedianDuration(rowsOf(r, sync, func(row RoundRow) time.Duration { return row.CPUPerReq }))
}

// MedianPerSec is the median rate of the no-op (sync ""), of the bare
// no-op (Bare) or of the receiver with one fsync setting.
func (r *RoundsResult) MedianPerSec(sync string) float64 {
	return Median(rowsOf(r, sync, func(row RoundRow) float64 { return row.PerSec }))
}

// roundColumns lays out the rows (fixed widths: progress prints them one
// at a time).
const roundColumns = "%-5s %-8s %-14s %8s %6s %8s %10s %10s %11s %6s %10s\n"

// roundHeader is the table header writeRow's lines go under.
var roundHeader = fmt.Sprintf(roundColumns, "ROUND", "TARGET", "SYNC", "REQUESTS", "ERRORS", "PER_SEC", "P50", "P99", "CPU_PER_REQ", "RATIO", "RATIO_BARE")

// writeRow prints one row.
func writeRow(w io.Writer, row RoundRow) {
	sync, ratio, bare := row.Sync, fmt.Sprintf("%.3f", row.Ratio), fmt.Sprintf("%.3f", row.BareRatio)
	if sync == "" {
		sync, ratio = "-", "-"
	}
	if row.Target == Bare {
		bare = "-"
	}
	fmt.Fprintf(w, roundColumns, strconv.Itoa(row.Round), row.Target, sync, strconv.Itoa(row.Requests), strconv.Itoa(row.Errors),
		fmt.Sprintf("%.0f", row.PerSec), ms(row.P50), ms(row.P99), us(row.CPUPerReq), ratio, bare)
}

// String formats the rounds and their medians as a table.
func (r *RoundsResult) String() string {
	var b strings.Builder
	b.WriteString(roundHeader)
	for _, row := range r.Rows {
		writeRow(&b, row)
	}
	b.WriteString(r.Summary())
	return b.String()
}

// Summary is the medians over the rounds.
func (r *RoundsResult) Summary() string {
	var b strings.Builder
	rounds := 0
	for _, row := range r.Rows {
		rounds = max(rounds, row.Round)
	}
	bare := len(rowsOf(r, Bare, func(RoundRow) bool { return true })) > 0
	fmt.Fprintf(&b, "median of %d rounds at concurrency %d: no-op %.0f req/s, %s CPU per request",
		rounds, r.Concurrency, r.MedianPerSec(""), us(r.MedianCPU("")))
	if bare {
		fmt.Fprintf(&b, " (no-op/bare ratio %.3f); bare net/http no-op %.0f req/s, %s CPU per request",
			r.MedianBareRatio(""), r.MedianPerSec(Bare), us(r.MedianCPU(Bare)))
	}
	b.WriteString("\n")
	for _, s := range r.Syncs {
		fmt.Fprintf(&b, "  receiver (sync %s): %.0f callbacks/s, %s CPU per callback, receiver/no-op ratio %.3f",
			s, r.MedianPerSec(s), us(r.MedianCPU(s)), r.MedianRatio(s))
		if bare {
			fmt.Fprintf(&b, ", receiver/bare ratio %.3f", r.MedianBareRatio(s))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// RunReceiverRounds measures the receiver against two no-op handlers
// interleaved: each round runs the bare net/http no-op (BareNoop on a
// plain http.Server), the receiver's router no-op
// (receiver.NewNoopHandler on qyshook's HTTP server), then the receiver
// once per fsync setting, on the same generator, connection count and
// process, and reports each run's rate, latencies and process CPU time
// per request, and the round's ratios to both no-ops. The
// receivers (one embedded JetStream per fsync setting) stay up across
// the rounds; each receiver run sends callbacks never sent before.
func RunReceiverRounds(ctx context.Context, o RoundsOptions) (*RoundsResult, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.Rounds <= 0 {
		o.Rounds = DefaultRounds
	}
	if len(o.Syncs) == 0 || o.NATSURL != "" {
		o.Syncs = []time.Duration{0}
	}
	res := &RoundsResult{Concurrency: o.Concurrency}
	var stacks []*receiverStack
	defer func() {
		for _, st := range stacks {
			if st != nil {
				st.close()
			}
		}
	}()
	if len(o.Ports) == 0 || o.NATSURL != "" {
		o.Ports = []string{""}
	}
	for _, sync := range o.Syncs {
		for _, port := range o.Ports {
			bo := o.BenchOptions
			bo.ListenAccess = port
			st, err := newReceiverStack(ctx, bo, sync)
			if err != nil {
				return nil, err
			}
			stacks = append(stacks, st)
			name := syncName(sync) + portName(port)
			if o.NATSURL != "" {
				name = fmt.Sprintf("R%d", max(o.Replicas, 1))
			}
			res.Syncs = append(res.Syncs, name)
		}
	}
	progress := o.Progress
	if progress != nil {
		fmt.Fprint(progress, roundHeader)
	}
	noop := receiver.NewNoopHandler(o.Logger, receiver.DefaultMaxBody)
	for round := 1; round <= o.Rounds; round++ {
		bare, err := measureBare(ctx, o.BenchOptions)
		if err != nil {
			return nil, err
		}
		bare.Round, bare.Target = round, Bare
		res.add(progress, bare)
		base, err := measure(ctx, noop, "/noop", o.BenchOptions)
		if err != nil {
			return nil, err
		}
		base.Round, base.Target = round, "no-op"
		base.BareRatio = Ratio(base.PerSec, bare.PerSec)
		res.add(progress, base)
		for i, st := range stacks {
			row, err := measure(ctx, st.handler, "/callbacks/"+o.Tenant+"/contract", o.BenchOptions)
			if err != nil {
				return nil, err
			}
			row.Round, row.Target, row.Sync = round, "receiver", res.Syncs[i]
			row.Ratio, row.BareRatio = Ratio(row.PerSec, base.PerSec), Ratio(row.PerSec, bare.PerSec)
			res.add(progress, row)
		}
	}
	return res, nil
}

func (r *RoundsResult) add(progress io.Writer, row RoundRow) {
	r.Rows = append(r.Rows, row)
	if progress != nil {
		writeRow(progress, row)
	}
}

// measure sends fresh callbacks (built before the clock for a Count run)
// to h and reports the run.
func measure(ctx context.Context, h http.Handler, path string, o BenchOptions) (RoundRow, error) {
	src, err := newSource(o)
	if err != nil {
		return RoundRow{}, err
	}
	runtime.GC() // the previous run's garbage is not this run's cost
	run, err := serveAndLoad(ctx, h, path, o, src)
	if err != nil {
		return RoundRow{}, err
	}
	return row(run), nil
}

// measureBare is measure for the bare net/http no-op.
func measureBare(ctx context.Context, o BenchOptions) (RoundRow, error) {
	src, err := newSource(o)
	if err != nil {
		return RoundRow{}, err
	}
	runtime.GC()
	run, err := bareAndLoad(ctx, o, src)
	if err != nil {
		return RoundRow{}, err
	}
	return row(run), nil
}

// row is a run's figures.
func row(run *run) RoundRow {
	return RoundRow{Requests: run.ok, Errors: run.errors, PerSec: run.perSec(), P50: run.pct(0.50), P99: run.pct(0.99),
		CPUPerReq: run.cpuPerRequest()}
}
