package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"Empty", nil, 0},
		{"One", []float64{0.4}, 0.4},
		{"Odd", []float64{0.9, 0.1, 0.5}, 0.5},
		{"Even", []float64{4, 1, 3, 2}, 2.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := Median(in); got != tc.want {
				t.Fatalf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Fatalf("Median reordered its input: %v", in)
			}
		})
	}
	if got := MedianDuration([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}); got != 2*time.Millisecond {
		t.Fatalf("MedianDuration = %v", got)
	}
}

func TestRatioAndPerMillion(t *testing.T) {
	if got := Ratio(300, 1200); got != 0.25 {
		t.Fatalf("Ratio = %v", got)
	}
	if got := Ratio(300, 0); got != 0 {
		t.Fatalf("Ratio by zero = %v, want 0", got)
	}
	if got := PerMillion(5, 20000); got != 250 {
		t.Fatalf("PerMillion = %v", got)
	}
	if got := PerMillion(5, 0); got != 0 {
		t.Fatalf("PerMillion of none = %v", got)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := Percentile(ds, 0.5); got != 50*time.Millisecond {
		t.Fatalf("p50 = %v", got)
	}
	if got := Percentile(ds, 0.99); got != 99*time.Millisecond {
		t.Fatalf("p99 = %v", got)
	}
	if got := Percentile(ds, 1); got != 100*time.Millisecond {
		t.Fatalf("p100 = %v", got)
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Fatalf("p50 of none = %v", got)
	}
}

func TestDrainRates(t *testing.T) {
	// 1,000 events applied in batches of 100, one batch every 100 ms at
	// first, then one every 200 ms from 500 on.
	var samples []drainSample
	applied, at := 0.0, time.Duration(0)
	for applied < 1000 {
		at += 50 * time.Millisecond
		step := 100 * time.Millisecond
		if applied >= 500 {
			step = 200 * time.Millisecond
		}
		if at%step == 0 {
			applied += 100
		}
		samples = append(samples, drainSample{at: at, applied: applied})
	}
	start, end := drainRates(samples, 1000)
	if start != 1000 { // 100 events in the first 100 ms
		t.Fatalf("start rate %v, want 1000/s", start)
	}
	// From 800 (first seen at 1.0 s) to 1,000 at 1.4 s.
	if end != 500 {
		t.Fatalf("end rate %v, want 500/s", end)
	}
	if s, e := drainRates(samples[:3], 1000); s != 1000 || e != 0 {
		t.Fatalf("unfinished timeline: %v %v, want 1000 and 0 (no end yet)", s, e)
	}
	if s, e := drainRates(samples[:1], 1000); s != 0 || e != 0 {
		t.Fatalf("nothing applied yet: %v %v, want 0 0", s, e)
	}
	// One batch applies everything: the whole timeline is both spans.
	s, e := drainRates([]drainSample{{at: 100 * time.Millisecond}, {at: 200 * time.Millisecond, applied: 10}}, 10)
	if s != 50 || e != 50 {
		t.Fatalf("single batch: %v %v, want 50 50", s, e)
	}
}

func TestProcessCPUAndRSS(t *testing.T) {
	before := ProcessCPU()
	x := 0
	for i := range 20_000_000 {
		x ^= i
	}
	_ = x
	if after := ProcessCPU(); after <= 0 || after < before {
		t.Fatalf("process CPU %v then %v", before, after)
	}
	if ProcessRSS() == 0 {
		t.Skip("no /proc/self/statm here")
	}
}

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o750); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{"x": 100, "a/y": 20, "a/b/z": 3} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := DirSize(dir); got != 123 {
		t.Fatalf("DirSize = %d, want 123", got)
	}
	if got := DirSize(filepath.Join(dir, "x")); got != 100 {
		t.Fatalf("DirSize(file) = %d, want 100", got)
	}
	if got := DirSize(filepath.Join(dir, "missing")); got != 0 {
		t.Fatalf("DirSize(missing) = %d", got)
	}
}

func TestAcceptedAnswer(t *testing.T) {
	for body, want := range map[string]bool{
		"success": true, "success\n": true, `{"code":0,"message":"SUCCESS"}`: true, `{"code":"0"}`: true,
		"": false, "error": false, `{"code":1,"message":"no"}`: false, `{"message":"x"}`: false,
	} {
		if got := acceptedAnswer([]byte(body)); got != want {
			t.Errorf("acceptedAnswer(%q) = %v, want %v", body, got, want)
		}
	}
}

func TestSoakRecorderLag(t *testing.T) {
	r := &soakRecorder{waiting: map[string]time.Time{}}
	r.answered("c1", time.Millisecond, true)
	r.answered("c1", time.Millisecond, true) // the wait runs from the first
	r.answered("c2", time.Millisecond, false)
	r.fact(&events.Fact{Kind: events.FactContractStatus, ContractID: "c1"})
	r.fact(&events.Fact{Kind: events.FactContractStatus, ContractID: "c9"}) // no callback waiting
	r.answered("c1", time.Millisecond, true)
	r.fact(&events.Fact{Kind: events.FactDocumentsArchived, ContractID: "c1"}) // ends the wait, no sample
	r.answered("req", time.Millisecond, true)
	r.fact(&events.Fact{Kind: events.FactCertificationStatus, Certification: &events.FactCertification{RequestID: "req"}})
	accepted, errs, facts, lat, lag := r.take()
	if accepted != 4 || errs != 1 || facts != 4 || len(lat) != 4 || len(lag) != 2 || len(r.waiting) != 0 {
		t.Fatalf("accepted %d errors %d facts %d latencies %d lags %d waiting %d", accepted, errs, facts, len(lat), len(lag), len(r.waiting))
	}
	if a, _, _, lat, lag := r.take(); a != 4 || len(lat) != 0 || len(lag) != 0 {
		t.Fatalf("second take: %d %d %d (latencies belong to one interval)", a, len(lat), len(lag))
	}
	if len(r.allLat) != 4 || len(r.allLag) != 2 {
		t.Fatalf("kept %d latencies, %d lags", len(r.allLat), len(r.allLag))
	}
}

func TestRoundsResultMedians(t *testing.T) {
	r := &RoundsResult{Concurrency: 8, Syncs: []string{"always", "2m0s"}}
	for i, x := range []struct{ noop, always, relaxed float64 }{{1000, 400, 600}, {2000, 600, 1400}, {1000, 500, 900}} {
		bare := 2 * x.noop
		r.Rows = append(r.Rows,
			RoundRow{Round: i + 1, Target: Bare, PerSec: bare, CPUPerReq: 10 * time.Microsecond},
			RoundRow{Round: i + 1, Target: "no-op", PerSec: x.noop, BareRatio: 0.5, CPUPerReq: 20 * time.Microsecond},
			RoundRow{Round: i + 1, Target: "receiver", Sync: "always", PerSec: x.always, Ratio: Ratio(x.always, x.noop),
				BareRatio: Ratio(x.always, bare), CPUPerReq: time.Duration(80+i) * time.Microsecond},
			RoundRow{Round: i + 1, Target: "receiver", Sync: "2m0s", PerSec: x.relaxed, Ratio: Ratio(x.relaxed, x.noop), CPUPerReq: 50 * time.Microsecond})
	}
	// Per-round ratios: always 0.4, 0.3, 0.5; relaxed 0.6, 0.7, 0.9.
	if got := r.MedianRatio("always"); got != 0.4 {
		t.Fatalf("median ratio (always) = %v", got)
	}
	if got := r.MedianRatio("2m0s"); got != 0.7 {
		t.Fatalf("median ratio (2m) = %v", got)
	}
	if got := r.MedianBareRatio("always"); got != 0.2 {
		t.Fatalf("median ratio to bare (always) = %v", got)
	}
	if got := r.MedianPerSec(Bare); got != 2000 {
		t.Fatalf("median bare = %v", got)
	}
	if got := r.MedianCPU(Bare); got != 10*time.Microsecond {
		t.Fatalf("median bare CPU = %v", got)
	}
	if got := r.MedianCPU("always"); got != 81*time.Microsecond {
		t.Fatalf("median CPU = %v", got)
	}
	if got := r.MedianPerSec(""); got != 1000 {
		t.Fatalf("median no-op = %v", got)
	}
	s := r.String()
	for _, want := range []string{"ROUND", "CPU_PER_REQ", "RATIO", "median of 3 rounds", "receiver/no-op ratio 0.400", "receiver/no-op ratio 0.700", "81 µs",
		"RATIO_BARE", "receiver/bare ratio 0.200", "no-op/bare ratio 0.500", "bare net/http no-op 2000 req/s"} {
		if !contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
}

func TestDispatcherRoundsRatios(t *testing.T) {
	r := &DispatcherRounds{DBs: []string{"sqlite", "postgres"}, Results: [][]*DispatcherResult{
		{{DB: "sqlite", PerSec: 1000}, {DB: "postgres", PerSec: 300}},
		{{DB: "sqlite", PerSec: 2000}, {DB: "postgres", PerSec: 1000}},
		{{DB: "sqlite", PerSec: 1000}, {DB: "postgres", PerSec: 400}},
	}}
	if got := r.RatiosOf(1); !slices.Equal(got, []float64{0.3, 0.5, 0.4}) {
		t.Fatalf("ratios %v", got)
	}
	if s := r.Ratios(); !contains(s, "postgres ÷ sqlite per round: 0.300 0.500 0.400; median 0.400") {
		t.Fatalf("Ratios() = %q", s)
	}
	one := &DispatcherRounds{DBs: []string{"sqlite"}, Results: [][]*DispatcherResult{{{DB: "sqlite", PerSec: 1}}}}
	if s := one.Ratios(); s != "" {
		t.Fatalf("one ledger: %q, want no ratio", s)
	}
}

func TestDispatcherRoundsLogRatios(t *testing.T) {
	r := &DispatcherRounds{DBs: []string{"sqlite", "postgres"},
		Results: [][]*DispatcherResult{
			{{DB: "sqlite", PerSec: 900, Events: 10, CPU: 1000 * time.Microsecond}, {DB: "postgres", PerSec: 300, Events: 10}},
			{{DB: "sqlite", PerSec: 800, Events: 10, CPU: 2000 * time.Microsecond}, {DB: "postgres", PerSec: 400, Events: 10}},
		},
		Bare: [][]*DispatcherResult{
			{{DB: "sqlite", PerSec: 1000, Events: 10, CPU: 500 * time.Microsecond, NoLog: true}, {DB: "postgres", PerSec: 600, NoLog: true}},
			{{DB: "sqlite", PerSec: 1000, Events: 10, CPU: 500 * time.Microsecond, NoLog: true}, {DB: "postgres", PerSec: 500, NoLog: true}},
		}}
	if got := r.LogRatiosOf(0); !slices.Equal(got, []float64{0.9, 0.8}) {
		t.Fatalf("sqlite log ratios %v", got)
	}
	s := r.Ratios()
	for _, want := range []string{
		"sqlite with the receipt log ÷ without, per round: 0.900 0.800; median 0.850 (median 850 vs 1000 events/s; process CPU 150 vs 50 µs/event)",
		"postgres with the receipt log ÷ without, per round: 0.500 0.800; median 0.650",
		"postgres ÷ sqlite per round: 0.333 0.500",
	} {
		if !contains(s, want) {
			t.Errorf("Ratios() lacks %q:\n%s", want, s)
		}
	}
	if s := r.String(); strings.Count(s, "no receipt log") != 4 {
		t.Errorf("String() shows %d runs without the log, want 4:\n%s", strings.Count(s, "no receipt log"), s)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
