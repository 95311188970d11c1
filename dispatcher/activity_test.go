package dispatcher_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
)

// failingAPI fails the detail of some contracts with a server error: the
// first n calls of each in fails, every call of each in always.
type failingAPI struct {
	dispatcher.API
	mu     sync.Mutex
	fails  map[string]int
	always map[string]bool
}

func (f *failingAPI) ContractDetail(ctx context.Context, q qys.ContractQuery) (*qys.Contract, error) {
	f.mu.Lock()
	fail := f.always[q.ContractID]
	if n := f.fails[q.ContractID]; n > 0 {
		f.fails[q.ContractID], fail = n-1, true
	}
	f.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("detail %s: %w", q.ContractID, qys.ErrServer)
	}
	return f.API.ContractDetail(ctx, q)
}

// TestActivityCounts: the dispatcher tells the activity each outcome as it
// happens, and "retried" counts only the failures that will be retried:
// not the permanent ones, nor the last failure of an exhausted event,
// which are dead-lettered (qyshook_dispatcher_events_failed_total, the
// chart's source before, counts them all).
func TestActivityCounts(t *testing.T) {
	rec := activity.New()
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	good, flaky, broken := h.AddContract(lifecycle.Signing), h.AddContract(lifecycle.Signing), h.AddContract(lifecycle.Signing)
	api := &failingAPI{API: h.Config.APIs["default"], fails: map[string]int{flaky: 2}, always: map[string]bool{broken: true}}
	h.Config.APIs = map[string]dispatcher.API{"default": api}
	h.Config.Activity = rec
	h.PublishContract(good, "SEAL", lifecycle.Signing)
	h.PublishContract(flaky, "SEAL", lifecycle.Signing)
	h.PublishContract(broken, "SEAL", lifecycle.Signing)                                                             // MaxDeliver 5: 4 retries, then dead-lettered
	h.PublishRaw(h.NATS.Names.CallbackSubject("default", events.KindContract, "SEAL"), []byte("{garbage"), "poison") // permanent
	h.PublishContract("999999", "SEAL", lifecycle.Signing)                                                           // unknown: permanent
	h.Start()
	stagetest.Eventually(t, "three dead letters and two contracts applied", func() bool {
		dl, _ := h.Ledger.DeadLetters(context.Background(), 10)
		c := h.Contract(flaky)
		return len(dl) == 3 && h.Contract(good) != nil && c != nil && c.Status == lifecycle.Signing && h.Settled()
	})
	want := map[string]float64{activity.Applied: 2, activity.Retried: 6, activity.DeadLettered: 3}
	_, series := rec.Window(time.Hour, time.Minute)
	got := map[string]float64{}
	for _, s := range series {
		if s.Tenant != "" {
			t.Errorf("series %s of tenant %q: the dispatcher's figures are for every tenant", s.Name, s.Tenant)
		}
		for _, p := range s.Points {
			got[s.Name] += p
		}
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], n, got)
		}
	}
	// The metric the chart read before counts every failure: 6 retried,
	// the exhausted event's last failure and the 2 permanent ones.
	if failed := counterValue(h, "qyshook_dispatcher_events_failed_total", ""); failed != 9 {
		t.Errorf("qyshook_dispatcher_events_failed_total = %v, want 9", failed)
	}
}
