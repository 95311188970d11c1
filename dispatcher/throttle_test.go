package dispatcher_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/lifecycle"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
)

// logBuffer collects a logger's JSON lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the lines whose text contains every one of subs.
func (l *logBuffer) lines(subs ...string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
next:
	for _, line := range strings.Split(l.buf.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func captureLog(h *stagetest.Harness) *logBuffer {
	l := &logBuffer{}
	h.Config.Logger = zerolog.New(l)
	return l
}

// TestRateLimitedRedeliveredPromptly: an event refused "rate limited"
// again and again is redelivered after the first retry delay every time,
// not after a delay that doubles with each delivery: the budget paces the
// tenant's calls, so the events must be at hand the moment the platform
// answers again. Before, ten rate-limited deliveries left events waiting
// up to Backoff.Max (5 minutes by default) after the platform had
// recovered. Asserted on the delays settle chose (retry_in), not on time.
func TestRateLimitedRedeliveredPromptly(t *testing.T) {
	b, err := qys.NewBudget(qys.BudgetOptions{Pause: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite), withAPIOptions(qys.WithBudget(b),
		qys.WithRetries(1, time.Millisecond, time.Millisecond)))
	h.Config.MaxDeliver = 30
	h.Config.Backoff = dispatcher.Backoff{Base: 20 * time.Millisecond, Max: 10 * time.Second}
	logs := captureLog(h)
	var ids []string
	for range 3 {
		ids = append(ids, h.AddContract(lifecycle.Signing))
	}
	h.Fake.RateLimitNext(60)
	for _, id := range ids {
		h.PublishContract(id, "SEND_SIGNING", lifecycle.Signing)
	}
	h.Start()
	stagetest.Eventually(t, "every contract applied after the rate limiting", func() bool {
		for _, id := range ids {
			if c := h.Contract(id); c == nil || !c.Confirmed {
				return false
			}
		}
		return true
	})
	failures := logs.lines(`"reason":"rate_limited"`, "will retry")
	if len(failures) < 5 {
		t.Fatalf("%d rate-limited failures logged, want several (the test proves nothing)", len(failures))
	}
	for _, f := range failures {
		if d, _ := f["retry_in"].(float64); d > float64(h.Config.Backoff.Base/time.Millisecond) || d <= 0 {
			t.Fatalf("a rate-limited event was NAKed for %v ms at attempt %v, want at most the base delay %s", d, f["attempt"], h.Config.Backoff.Base)
		}
	}
	if s := b.Stats(); s.Episodes == 0 || s.Limited {
		t.Fatalf("budget %+v: want episodes seen, none under way", s)
	}
}

// ctxAPI blocks every detail fetch until its ctx ends, then fails with the
// ctx's error (a call that honours cancellation but never returns first).
type ctxAPI struct {
	dispatcher.API
	entered chan struct{}
	once    sync.Once
}

func (a *ctxAPI) ContractDetail(ctx context.Context, q qys.ContractQuery) (*qys.Contract, error) {
	a.once.Do(func() { close(a.entered) })
	<-ctx.Done()
	return nil, context.Cause(ctx)
}

// TestShutdownTimeoutLogsTheTruth: a batch that outlasts the shutdown
// timeout is NAKed for immediate redelivery, then cancelled; its work,
// returning with the cancellation, finds its messages settled already and
// says nothing more of them. Before, each logged "nak failed; AckWait will
// redeliver: message was already acknowledged" (512 lines for a full
// batch), which was false: they had been NAKed and were redelivered at
// once. Now one line gives the count; the next dispatcher applies them all.
func TestShutdownTimeoutLogsTheTruth(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	logs := captureLog(h)
	api := h.Config.APIs
	blocked := &ctxAPI{API: api["default"], entered: make(chan struct{})}
	h.Config.APIs = map[string]dispatcher.API{"default": blocked}
	h.Config.ShutdownTimeout = 50 * time.Millisecond
	var ids []string
	for range 5 {
		id := h.AddContract(lifecycle.Signing)
		ids = append(ids, id)
		h.PublishContract(id, "SEND_SIGNING", lifecycle.Signing)
	}
	h.Start()
	<-blocked.entered
	h.Stop()
	if bad := logs.lines("already acknowledged"); len(bad) != 0 {
		t.Fatalf("%d lines say a message was already acknowledged, e.g. %v", len(bad), bad[0])
	}
	if bad := logs.lines("nak failed"); len(bad) != 0 {
		t.Fatalf("%d lines say a NAK failed, e.g. %v", len(bad), bad[0])
	}
	if l := logs.lines("will retry"); len(l) != 0 {
		t.Fatalf("%d per-message 'will retry' lines for the abandoned batch, e.g. %v", len(l), l[0])
	}
	abandoned := logs.lines("shutdown: batch abandoned")
	if len(abandoned) != 1 {
		t.Fatalf("%d 'batch abandoned' lines, want 1", len(abandoned))
	}
	if n, _ := abandoned[0]["nakked"].(float64); n != 5 {
		t.Fatalf("abandoned batch line %v: want the 5 messages NAKed counted", abandoned[0])
	}
	if n, _ := abandoned[0]["settled_after"].(float64); n != 5 {
		t.Fatalf("abandoned batch line %v: want the 5 settles refused after the NAK counted", abandoned[0])
	}

	h.Config.APIs = api
	h.Registry = prometheus.NewRegistry()
	h.Config.Registerer, h.Archive.Registerer = h.Registry, h.Registry
	h.Start()
	stagetest.Eventually(t, "every callback applied by the next dispatcher", func() bool {
		for _, id := range ids {
			if h.Contract(id) == nil {
				return false
			}
		}
		return true
	})
}

// TestStopWhileThrottledReturnsPromptly: a dispatcher stopped while the
// platform refuses every request (HTTP 429 with Retry-After: 30) gives up
// the budget waits at once and settles its batch (NAKed for redelivery)
// well inside its shutdown timeout, instead of waiting out the pause and
// then the timeout. Before, the calls waited for the 30-second pause, the
// 20-second shutdown timeout ran out and the batch was abandoned. Nothing
// is lost: once the platform answers, a new dispatcher applies every
// callback. Asserted on what was logged (no timeout reached), not on time.
func TestStopWhileThrottledReturnsPromptly(t *testing.T) {
	b, err := qys.NewBudget(qys.BudgetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite), withAPIOptions(qys.WithBudget(b)))
	logs := captureLog(h)
	h.Config.ShutdownTimeout = 20 * time.Second
	h.Fake.Throttle(true, 30*time.Second)
	var ids []string
	for range 5 {
		id := h.AddContract(lifecycle.Signing)
		ids = append(ids, id)
		h.PublishContract(id, "SEND_SIGNING", lifecycle.Signing)
	}
	h.Start()
	stagetest.Eventually(t, "the platform refusing and the budget in an episode", func() bool {
		return h.Fake.Throttled() > 0 && b.Stats().Limited
	})
	h.Stop()
	if l := logs.lines("outlasted the shutdown timeout"); len(l) != 0 {
		t.Fatalf("the batch outlasted the shutdown timeout: %v", l[0])
	}
	if bad := logs.lines("already acknowledged"); len(bad) != 0 {
		t.Fatalf("%d lines say a message was already acknowledged", len(bad))
	}
	if c := h.Contract(ids[0]); c != nil {
		t.Fatalf("contract applied while the platform refused every request: %+v", c)
	}

	h.Fake.Throttle(false, 0)
	h.Registry = prometheus.NewRegistry()
	h.Config.Registerer, h.Archive.Registerer = h.Registry, h.Registry
	h.Start()
	stagetest.Eventually(t, "every callback applied once the platform answers", func() bool {
		for _, id := range ids {
			if c := h.Contract(id); c == nil || !c.Confirmed {
				return false
			}
		}
		return true
	})
}
