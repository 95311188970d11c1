package dispatcher_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/lifecycle"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
)

// TestThrottleDrill: a backlog of callbacks, the platform refusing every
// request (HTTP 429, Retry-After: 1, as a gateway) for a spell, then
// answering again; the dispatcher with the service's own settings (a
// tenant budget without a rate, its default window, the default
// redelivery backoff). It reports, as figures, how long after the
// platform recovered the first event applied and the drain reached 80 %
// of its full rate (the median half-second rate of the drain from a second
// after its first event to its last half second).
// Asserted: nothing applies during the spell, every callback applies
// once afterwards, nothing is dead-lettered, and while refused the
// dispatcher asked the platform about once per window (probes), not once
// per worker per window.
//
// The spell is 3 s with 8,000 callbacks; QYSHOOK_THROTTLE_DRILL=60s (and
// QYSHOOK_THROTTLE_DRILL_N for the backlog, default then 40,000) runs the
// full drill of issue 23.
func TestThrottleDrill(t *testing.T) {
	spell, n := 3*time.Second, 8000
	if v := os.Getenv("QYSHOOK_THROTTLE_DRILL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("QYSHOOK_THROTTLE_DRILL=%q: want a duration", v)
		}
		spell, n = d, 40000
	} else if testing.Short() {
		t.Skip("a throttling spell and a drain of 8,000 callbacks")
	}
	if v := os.Getenv("QYSHOOK_THROTTLE_DRILL_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("QYSHOOK_THROTTLE_DRILL_N=%q: want a positive count", v)
		}
	}
	b, err := qys.NewBudget(qys.BudgetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite), withAPIOptions(qys.WithBudget(b)))
	// The service's defaults, not the harness's fast ones.
	h.Config.Backoff = dispatcher.Backoff{}
	h.Config.MaxDeliver, h.Config.AckWait = 0, 0
	ids := make([]string, n)
	for i := range ids {
		ids[i] = h.AddContract(lifecycle.Signing)
	}
	for _, id := range ids {
		h.PublishContract(id, "SEND_SIGNING", lifecycle.Signing)
	}
	applied := func() float64 { return counterValue(h, "qyshook_dispatcher_events_applied_total", "") }
	h.Fake.Throttle(true, time.Second)
	h.Start()
	time.Sleep(spell)
	if a := applied(); a != 0 {
		t.Fatalf("%v events applied while the platform refused every request", a)
	}
	refused := h.Fake.Throttled()
	recovered := time.Now()
	h.Fake.Throttle(false, 0)

	type sample struct {
		at time.Duration
		n  float64
	}
	var samples []sample
	deadline := recovered.Add(10*time.Minute + spell)
	for {
		a := applied()
		samples = append(samples, sample{time.Since(recovered), a})
		if a >= float64(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v of %d applied %s after the platform recovered", a, n, time.Since(recovered).Round(time.Second))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Rates over half-second windows (five samples apart).
	var first time.Duration = -1
	type rate struct {
		end time.Duration
		r   float64
	}
	var rates []rate
	for i, s := range samples {
		if first < 0 && s.n > 0 {
			first = s.at
		}
		if i >= 5 {
			p := samples[i-5]
			rates = append(rates, rate{s.at, (s.n - p.n) / (s.at - p.at).Seconds()})
		}
	}
	var rest []float64
	for _, r := range rates {
		if first >= 0 && r.end >= first+time.Second && r.end <= samples[len(samples)-1].at-500*time.Millisecond {
			rest = append(rest, r.r)
		}
	}
	full := 0.0
	if len(rest) > 0 {
		slices.Sort(rest)
		full = rest[len(rest)/2]
	}
	reached := time.Duration(-1)
	for _, r := range rates {
		if full > 0 && r.r >= 0.8*full {
			reached = r.end
			break
		}
	}
	t.Logf("spell %s, %d callbacks: %d requests refused during it (budget: %d episodes, %d refusals seen); "+
		"after the platform recovered: first event applied at %s, 80 %% of full rate (%.0f events/s) reached at %s, drained at %s (figures, not asserted)",
		spell, n, refused, b.Stats().Episodes, b.Stats().Throttled, first.Round(10*time.Millisecond), full,
		reached.Round(10*time.Millisecond), samples[len(samples)-1].at.Round(10*time.Millisecond))
	if full == 0 {
		t.Logf("the drain took under 2 s: too short for a full rate; raise QYSHOOK_THROTTLE_DRILL_N")
	}
	// Probes: about one per one-second window, plus the requests under way
	// when the spell began and each retry's own; the old budget let every
	// waiting worker through each window (16 per second).
	if limit := 16 + 3*int(spell/time.Second); refused > limit {
		t.Errorf("%d requests refused during a %s spell, want at most %d (one probe per window)", refused, spell, limit)
	}
	if rows, _ := h.Ledger.DeadLetters(context.Background(), 0); len(rows) != 0 {
		t.Fatalf("%d dead letters, want 0", len(rows))
	}
}
