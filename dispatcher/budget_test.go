package dispatcher_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestRateLimitedNeverDeadLetters: an event whose detail fetch keeps
// meeting "rate limited" (11990006) for more deliveries than MaxDeliver is
// delivered again and again, never dead-lettered, and applies once the
// platform lets it through. Before, the tenth rate-limited answer made it
// retries_exhausted:api_error.
func TestRateLimitedNeverDeadLetters(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Config.MaxDeliver = 2
	id := h.AddContract(lifecycle.Signing)
	h.Fake.RateLimitNext(4 * 4) // four deliveries of 1+3 attempts: past MaxDeliver
	h.PublishContract(id, "SEND_SIGNING", lifecycle.Signing)
	h.Start()
	ctx := context.Background()
	stagetest.Eventually(t, "applied after the rate limiting", func() bool {
		c := h.Contract(id)
		return c != nil && c.Confirmed
	})
	if rows, _ := h.Ledger.DeadLetters(ctx, 0); len(rows) != 0 {
		t.Fatalf("%d dead letters, want 0: %+v", len(rows), rows)
	}
	if n := len(h.StreamMessages(h.NATS.Names.DLQStream())); n != 0 {
		t.Fatalf("%d messages in QYS_DLQ, want 0", n)
	}
}

// TestRateLimitedThenAnOrdinaryFailure: the deliveries spent on rate
// limiting (or a full disk) do not use up the event's retries: once the
// platform lets it through, one ordinary transient failure (a 503) is
// retried, not dead-lettered as retries_exhausted. Before, the stream's
// delivery count, past MaxDeliver after the rate limiting, made that
// first 503 a dead letter.
func TestRateLimitedThenAnOrdinaryFailure(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Config.MaxDeliver = 3
	id := h.AddContract(lifecycle.Signing)
	// Eight deliveries' worth of rate limiting (1+3 attempts each): the
	// 503 is injected once five have failed, while some is left, so it
	// lands past MaxDeliver (a 503 is answered before a rate limit).
	h.Fake.RateLimitNext(8 * 4)
	h.PublishContract(id, "SEND_SIGNING", lifecycle.Signing)
	h.Start()
	stagetest.Eventually(t, "rate limited past MaxDeliver", func() bool {
		return counterValue(h, "qyshook_dispatcher_events_failed_total", "rate_limited") >= 5
	})
	h.Fake.FailNext(4, 503) // one delivery: 1+3 attempts answered 503
	stagetest.Eventually(t, "applied after the 503", func() bool {
		c := h.Contract(id)
		return c != nil && c.Confirmed
	})
	if rows, _ := h.Ledger.DeadLetters(context.Background(), 0); len(rows) != 0 {
		t.Fatalf("%d dead letters, want 0: %+v", len(rows), rows)
	}
	if n := counterValue(h, "qyshook_dispatcher_events_failed_total", "api_error"); n < 1 {
		t.Errorf("api_error failures = %v, want the 503 seen", n)
	}
	if n := counterValue(h, "qyshook_dispatcher_events_renewed_total", ""); n < 1 {
		t.Errorf("renewed = %v, want at least one renewal", n)
	}
	if evs, err := h.Ledger.Events(context.Background(), "default", id); err != nil || len(evs) != 1 {
		t.Errorf("%d events in the ledger for the contract (%v), want 1", len(evs), err)
	}
}

// counterValue sums the counter name's series whose label values include
// label ("" for all).
func counterValue(h *stagetest.Harness, name, label string) float64 {
	mfs, err := h.Registry.Gather()
	if err != nil {
		h.T.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				match = match || lp.GetValue() == label
			}
			if match {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// withAPIOptions gives the dispatcher and the archive stage one client of
// the fake built with opts (as the service gives all of a tenant's work
// one client and one budget).
func withAPIOptions(opts ...qys.Option) stagetest.Option {
	return func(h *stagetest.Harness) {
		c, err := h.Fake.Client(opts...)
		if err != nil {
			h.T.Fatal(err)
		}
		h.Config.APIs = map[string]dispatcher.API{"default": c}
		h.Archive.APIs = map[string]archiver.API{"default": c}
	}
}

// burstResult is what a drained burst left.
type burstResult struct {
	refused     int // requests the fake answered 11990006
	deadLetters int
	budget      qys.BudgetStats
}

// Sizes of the burst: contracts still signing cost one detail fetch each;
// completed ones also two document downloads by the archive stage, all on
// the same budget: 84 requests or more. The fake's limit (a bucket of one
// second's worth) is below the dispatcher's 32 workers, so without a
// budget the first batch alone overruns it, however fast the machine.
const (
	burstSigning  = 60
	burstComplete = 12
	fakeLimit     = 24 // requests/s the fake allows the application
)

// drainBurst pre-fills QYS_CALLBACKS with one callback per contract, then
// runs the dispatcher and the archive stage until every contract is in the
// ledger equal to the fake's truth and every document is archived with the
// fake's sha256.
func drainBurst(t *testing.T, budget *qys.Budget) burstResult {
	t.Helper()
	var opts []stagetest.Option
	if budget != nil {
		opts = append(opts, withAPIOptions(qys.WithBudget(budget)))
	}
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite), opts...)
	h.Config.Workers = 32
	h.Fake.LimitRate(fakeLimit, qystest.RateAnswerCode)
	var ids []string
	for i := range burstSigning + burstComplete {
		status := lifecycle.Signing
		if i%((burstSigning+burstComplete)/burstComplete) == 0 {
			status = lifecycle.Complete
		}
		spec := qystest.ContractSpec{Subject: "批量", Status: status,
			Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方科技有限公司"}}}
		if status == lifecycle.Complete { // given bytes: served as they are, not drawn and signed
			spec.Documents = []qystest.DocumentSpec{{Title: "正文", Content: []byte("%PDF-1.4 main " + strconv.Itoa(i))},
				{Title: "附件", Content: []byte("%PDF-1.4 annex " + strconv.Itoa(i))}}
		}
		id := h.Fake.AddContract(spec)
		ids = append(ids, id)
		h.PublishContract(id, "BURST", status)
	}
	start := time.Now()
	h.Start()
	ctx := context.Background()
	defer func() { t.Logf("drained in %s (a figure, not asserted)", time.Since(start).Round(time.Millisecond)) }()
	stagetest.Eventually(t, "every contract in the ledger as the fake has it, documents archived", func() bool {
		for _, id := range ids {
			c := h.Contract(id)
			truth, _ := h.Fake.Contract(id)
			if c == nil || !c.Confirmed || c.Status != truth.Status {
				return false
			}
			if c.Status != lifecycle.Complete {
				continue
			}
			if len(c.Documents) != len(truth.Documents) {
				return false
			}
			for _, d := range c.Documents {
				if d.ArchiveState != store.ArchiveArchived || d.SHA256 != h.Fake.DocumentSHA256(d.ID) {
					return false
				}
			}
		}
		return true
	})
	rows, err := h.Ledger.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dlq := len(h.StreamMessages(h.NATS.Names.DLQStream()))
	if dlq != len(rows) {
		t.Errorf("QYS_DLQ holds %d messages, the ledger %d dead letters", dlq, len(rows))
	}
	paths := map[string]int{}
	for _, r := range h.Fake.Requests() {
		paths[r.Path]++
	}
	t.Logf("requests by path: %v", paths)
	return burstResult{refused: h.Fake.RateLimited(), deadLetters: len(rows), budget: budget.Stats()}
}

// TestBurstDrainsUnderPlatformLimit: a burst of callbacks for distinct
// contracts, pre-filled into the stream, drains through a fake that
// enforces 24 requests/s per application: with a budget of 19.2/s
// (detail fetches and document downloads sharing it) the fake refuses
// nothing, nothing is dead-lettered and every contract equals the fake's
// truth. The control, the same burst without a budget, is refused by the
// fake (and still dead-letters nothing: rate-limited answers are
// transient). Counts only; the time it takes is not asserted.
func TestBurstDrainsUnderPlatformLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("drains a burst at about 20 requests/s")
	}
	t.Run("Budget", func(t *testing.T) {
		b, err := qys.NewBudget(qys.BudgetOptions{Rate: fakeLimit * 0.8, InFlight: 16})
		if err != nil {
			t.Fatal(err)
		}
		r := drainBurst(t, b)
		if r.refused != 0 || r.deadLetters != 0 {
			t.Fatalf("with a budget under the limit: %d refused by the fake, %d dead letters; want 0 and 0", r.refused, r.deadLetters)
		}
		if r.budget.Waited == 0 || r.budget.Throttled != 0 || r.budget.InFlight != 0 {
			t.Fatalf("budget %+v: want waits, no rate-limited answer, nothing left in flight", r.budget)
		}
	})
	t.Run("ControlWithoutBudget", func(t *testing.T) {
		r := drainBurst(t, nil)
		if r.refused == 0 {
			t.Fatal("without a budget the fake refused nothing: the burst does not reach the limit and the test proves nothing")
		}
		if r.deadLetters != 0 {
			t.Fatalf("%d dead letters: rate-limited answers must stay transient", r.deadLetters)
		}
		t.Logf("control: the fake refused %d requests", r.refused)
	})
}
