package dispatcher_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
)

// gatedAPI blocks every detail fetch until released, ignoring its context
// (the worst case: a call that does not honour cancellation).
type gatedAPI struct {
	dispatcher.API
	entered chan struct{}
	once    sync.Once
	release chan struct{}
}

func (g *gatedAPI) ContractDetail(ctx context.Context, q qys.ContractQuery) (*qys.Contract, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return nil, context.Canceled
}

// TestShutdownBounded: a dispatcher stopped while its batch is blocked in
// a detail fetch returns once the shutdown timeout passes, with the fetch
// still blocked; the message was not lost: the next dispatcher applies it.
func TestShutdownBounded(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	id := h.AddContract(lifecycle.Signing)
	gate := &gatedAPI{API: h.Config.APIs["default"], entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(gate.release) })
	api := h.Config.APIs
	h.Config.APIs = map[string]dispatcher.API{"default": gate}
	h.Config.ShutdownTimeout = 50 * time.Millisecond
	h.PublishContract(id, "SEAL", lifecycle.Signing)
	h.Start()
	<-gate.entered
	h.Stop() // fails the test if Run does not return
	if c := h.Contract(id); c != nil {
		t.Fatalf("contract applied while its fetch was blocked: %+v", c)
	}

	h.Config.APIs = api
	h.Registry = prometheus.NewRegistry()
	h.Config.Registerer, h.Archive.Registerer = h.Registry, h.Registry
	h.Start()
	stagetest.Eventually(t, "the callback applied by the next dispatcher", func() bool { return h.Contract(id) != nil })
}

// TestStopDuringStartup: a dispatcher stopped before its consumer exists
// (a shutdown right after start, while CreateOrUpdateConsumer is still in
// flight) returns nil, as a stop after start does. It returned
// "dispatcher: consumer: context canceled", which callers report as a
// failure.
func TestStopDuringStartup(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	d, err := dispatcher.New(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stopped before the consumer is created
	if err := d.Run(ctx); err != nil {
		t.Fatalf("Run stopped during startup: %v", err)
	}
}

// TestStopAfterConsumerFailuresIsReported: a dispatcher whose consumer
// never came up (here: no such stream) and is then stopped reports the
// failure instead of a clean stop.
func TestStopAfterConsumerFailuresIsReported(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	names, err := events.NewNames(natstest.RandomNamespace()) // never provisioned
	if err != nil {
		t.Fatal(err)
	}
	h.Config.Names = names
	failed := make(chan struct{}, 1)
	h.Config.Logger = zerolog.New(writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), "consumer not available yet") {
			select {
			case failed <- struct{}{}:
			default:
			}
		}
		return len(p), nil
	}))
	d, err := dispatcher.New(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-failed
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "consumer") {
		t.Fatalf("Run after failed consumer attempts: %v, want the failure", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
