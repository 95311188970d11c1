package bench_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/internal/bench"
	"github.com/qyshook/qyshook/internal/testdb"
)

// ledgers are the ledgers the small runs use: SQLite, and PostgreSQL
// when QYSHOOK_TEST_POSTGRES_DSN is set.
func ledgers() []string {
	dbs := []string{"sqlite"}
	if dsn := testdb.PostgresDSN(); dsn != "" {
		dbs = append(dbs, dsn)
	}
	return dbs
}

func TestRunReceiverRoundsSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	res, err := bench.RunReceiverRounds(ctx, bench.RoundsOptions{BenchOptions: bench.BenchOptions{Concurrency: 4, Count: 100},
		Rounds: 2, Syncs: []time.Duration{0, 2 * time.Minute}, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 8 || len(res.Syncs) != 2 || res.Syncs[0] != "always" || res.Syncs[1] != "2m0s" {
		t.Fatalf("rows %d, syncs %v", len(res.Rows), res.Syncs)
	}
	wantTargets := []string{"bare", "no-op", "receiver", "receiver", "bare", "no-op", "receiver", "receiver"}
	for i, row := range res.Rows {
		if row.Target != wantTargets[i] || row.Round != i/4+1 || row.Requests != 100 || row.Errors != 0 || row.CPUPerReq <= 0 {
			t.Fatalf("row %d: %+v", i, row)
		}
		if row.Target == "receiver" && row.Ratio <= 0 {
			t.Fatalf("row %d: no ratio: %+v", i, row)
		}
		if row.Target != bench.Bare && row.BareRatio <= 0 {
			t.Fatalf("row %d: no ratio to the bare no-op: %+v", i, row)
		}
	}
	if res.MedianRatio("always") <= 0 || res.MedianCPU("always") <= 0 || res.MedianBareRatio("always") <= 0 ||
		res.MedianPerSec(bench.Bare) <= 0 || res.MedianCPU(bench.Bare) <= 0 {
		t.Fatalf("medians: %s", res)
	}
	// The progress shows each row as it is measured, under the header.
	if got := strings.Count(progress.String(), "\n"); got != 9 || !strings.HasPrefix(progress.String(), "ROUND") {
		t.Fatalf("progress:\n%s", progress.String())
	}
	t.Log("\n" + res.String())
}

// TestRunReceiverRoundsPorts: Ports runs each fsync setting with and
// without a client port on the embedded server, named apart, every
// callback stored.
func TestRunReceiverRoundsPorts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := bench.RunReceiverRounds(ctx, bench.RoundsOptions{BenchOptions: bench.BenchOptions{Concurrency: 4, Count: 100},
		Rounds: 1, Syncs: []time.Duration{0}, Ports: []string{"", "subscribe", "publish"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"always", "always+port", "always+pubport"}; !slices.Equal(res.Syncs, want) || len(res.Rows) != 5 {
		t.Fatalf("syncs %v rows %d, want %v and 5", res.Syncs, len(res.Rows), want)
	}
	for _, row := range res.Rows {
		if row.Requests != 100 || row.Errors != 0 {
			t.Fatalf("row %+v", row)
		}
	}
}

func TestRunDispatcherRoundsSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbs := ledgers()
	res, err := bench.RunDispatcherRounds(ctx, bench.DispatcherOptions{Events: 100, PerContract: 1}, dbs, 2, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || len(res.Results[0]) != len(dbs) || len(res.DBs) != len(dbs) {
		t.Fatalf("results: %s", res)
	}
	for _, round := range res.Results {
		for _, r := range round {
			if r.Events != 100 || r.Contracts != 100 || r.PerSec <= 0 {
				t.Fatalf("result: %s", r)
			}
		}
	}
	if len(dbs) == 2 && (len(res.RatiosOf(1)) != 2 || !strings.Contains(res.String(), "postgres ÷ sqlite per round")) {
		t.Fatalf("ratios: %s", res)
	}
	t.Log("\n" + res.String())
}

func TestRunSoakShort(t *testing.T) {
	for _, db := range ledgers() {
		t.Run(strings.SplitN(db, ":", 2)[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out bytes.Buffer
			res, err := bench.RunSoak(ctx, bench.SoakOptions{Duration: 1500 * time.Millisecond, Interval: 500 * time.Millisecond,
				Workers: 4, DB: db, Dir: t.TempDir(), Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted == 0 || res.Errors != 0 || res.Lifecycles == 0 || res.DLQ != 0 {
				t.Fatalf("result: %s", res)
			}
			// Every lifecycle's facts came (at least its first status), and
			// the lag is measured from the answers.
			if res.Facts < res.Lifecycles || res.LagSamples == 0 || res.LagP50 <= 0 || res.RSSPeak == 0 || res.LedgerDisk == 0 {
				t.Fatalf("result: %s", res)
			}
			if len(res.Intervals) < 2 {
				t.Fatalf("%d intervals:\n%s", len(res.Intervals), out.String())
			}
			for _, col := range []string{"ACCEPTED/S", "P50", "P99", "LAG_P50", "LAG_P99", "RSS"} {
				if !strings.Contains(strings.SplitN(out.String(), "\n", 2)[0], col) {
					t.Fatalf("header lacks %s:\n%s", col, out.String())
				}
			}
			if got := strings.Count(out.String(), "\n"); got != len(res.Intervals)+1 {
				t.Fatalf("%d lines for %d intervals:\n%s", got, len(res.Intervals), out.String())
			}
			t.Log("\n" + out.String() + res.String())
		})
	}
}

func TestRunBurstSmall(t *testing.T) {
	for _, dispatch := range []bool{false, true} {
		for _, db := range ledgers() {
			name := strings.SplitN(db, ":", 2)[0]
			if dispatch {
				name += "/running"
			}
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				var out, prof bytes.Buffer
				res, err := bench.RunBurst(ctx, bench.BurstOptions{N: 300, Concurrency: 8, Dispatch: dispatch, DB: db, Dir: t.TempDir(), Out: &out, Profile: &prof})
				if err != nil {
					t.Fatal(err)
				}
				if res.Accepted != 300 || res.Errors != 0 || res.DLQ != 0 || res.AcceptPerSec <= 0 || res.P99 <= 0 {
					t.Fatalf("result: %s", res)
				}
				if res.DrainStartRate <= 0 || res.DrainEndRate <= 0 || res.StreamDiskEnd == 0 || res.LedgerDisk == 0 {
					t.Fatalf("result: %s", res)
				}
				if !dispatch && (res.StreamDiskHeld == 0 || res.RSSHeld == 0 || res.DrainStartCPU <= 0 || res.DrainEndCPU <= 0) {
					t.Fatalf("held or CPU figures missing: %s", res)
				}
				if prof.Len() == 0 {
					t.Fatal("no CPU profile written")
				}
				if res.DuplicateWindow != 48*time.Hour {
					t.Fatalf("duplicate window %v, want the default 48h", res.DuplicateWindow)
				}
				s := res.String()
				for _, want := range []string{"accepted", "drain:", "first 10 %", "last 10 %", "per million"} {
					if !strings.Contains(s, want) {
						t.Fatalf("String() lacks %q: %s", want, s)
					}
				}
				if !strings.Contains(out.String(), "applied 100 %") {
					t.Fatalf("progress:\n%s", out.String())
				}
				t.Log("\n" + s)
			})
		}
	}
}

// TestRunReceiverRoundsOnServer: with NATSURL the receiver stores on that
// server (the machine's NATS in CI), in streams of a namespace of its own
// that are deleted afterwards; the row names the replicas.
func TestRunReceiverRoundsOnServer(t *testing.T) {
	url := os.Getenv("QYSHOOK_TEST_NATS_URL")
	if url == "" {
		t.Skip("QYSHOOK_TEST_NATS_URL not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	benchStreams := func() map[string]bool {
		set := map[string]bool{}
		names := js.StreamNames(ctx)
		for name := range names.Name() {
			if strings.HasPrefix(name, "bench") {
				set[name] = true
			}
		}
		return set
	}
	before := benchStreams()
	res, err := bench.RunReceiverRounds(ctx, bench.RoundsOptions{BenchOptions: bench.BenchOptions{Concurrency: 4, Count: 100,
		NATSURL: url}, Rounds: 1, Syncs: []time.Duration{0, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	// Rows: the bare net/http no-op, the router no-op, the receiver.
	if len(res.Rows) != 3 || len(res.Syncs) != 1 || res.Syncs[0] != "R1" || res.Rows[2].Target != "receiver" ||
		res.Rows[2].Requests != 100 || res.Rows[2].Errors != 0 {
		t.Fatalf("syncs %v rows %+v", res.Syncs, res.Rows)
	}
	for name := range benchStreams() {
		if !before[name] {
			t.Errorf("stream %s left behind", name)
		}
	}
}
