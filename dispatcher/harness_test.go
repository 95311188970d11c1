package dispatcher_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/relay"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// harness is a dispatcher wired to real parts: a JetStream (embedded or
// QYSHOOK_TEST_NATS_URL), a fake 契约锁, a real ledger and document store.
type harness struct {
	t       *testing.T
	nats    *natstest.Env
	fake    *qystest.Server
	ledger  store.Ledger
	dataDir string
	cfg     dispatcher.Config
	arch    archiver.Options // the archive stage run beside the dispatcher
	reg     *prometheus.Registry

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
	// stopRelay stops the relay stage, run beside the dispatcher and
	// stopped after it (as internal/app does), and waits for it.
	stopRelay func()
}

type harnessOption func(*harness)

// withoutAPI leaves the default tenant without API credentials.
func withoutAPI() harnessOption {
	return func(h *harness) { h.cfg.APIs, h.arch.APIs = nil, nil }
}

func newHarness(t *testing.T, ledger store.Ledger, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessOn(t, natstest.New(t), ledger, opts...)
}

// newHarnessOn is newHarness on a given JetStream.
func newHarnessOn(t *testing.T, env *natstest.Env, ledger store.Ledger, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, nats: env, ledger: ledger, dataDir: t.TempDir(), reg: prometheus.NewRegistry()}
	h.fake = qystest.NewServer()
	t.Cleanup(h.fake.Close)
	client, err := h.fake.Client()
	if err != nil {
		t.Fatal(err)
	}
	h.cfg = dispatcher.Config{
		JS: h.nats.JS, Names: h.nats.Names, Ledger: ledger,
		APIs:       map[string]dispatcher.API{"default": client},
		MaxDeliver: 5, AckWait: 5 * time.Second,
		Backoff:    dispatcher.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Registerer: h.reg,
	}
	h.arch = archiver.Options{
		Ledger: ledger, Docs: docstore.New(h.dataDir), Names: h.nats.Names,
		APIs:    map[string]archiver.API{"default": client},
		Workers: 4, PollInterval: 20 * time.Millisecond, BackoffBase: 10 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond, MaxAttempts: 5, Grace: time.Second, Registerer: h.reg,
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

func (h *harness) start() {
	h.t.Helper()
	rel, err := relay.New(relay.Options{JS: h.cfg.JS, Ledger: h.cfg.Ledger, Registerer: h.cfg.Registerer})
	if err != nil {
		h.t.Fatal(err)
	}
	cfg := h.cfg
	cfg.Committed = rel.Kick
	d, err := dispatcher.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := archiver.New(h.arch)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- d.Run(ctx) }()
	go func() { done <- a.Run(ctx) }()
	relayCtx, cancelRelay := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); _ = rel.Run(relayCtx) }()
	h.mu.Lock()
	h.cancel, h.done = cancel, done
	h.stopRelay = func() { cancelRelay(); <-relayDone }
	h.mu.Unlock()
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	h.mu.Lock()
	cancel, done, stopRelay := h.cancel, h.done, h.stopRelay
	h.cancel = nil
	h.mu.Unlock()
	if cancel == nil {
		return
	}
	defer stopRelay()
	cancel()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			h.t.Error("dispatcher or archiver did not stop")
			return
		}
	}
}

// publish puts a contract callback envelope on QYS_CALLBACKS.
func (h *harness) publishContract(contractID, callbackType, status string) events.Envelope {
	h.t.Helper()
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: callbackType,
		ContractID: contractID, ContractStatus: status, ReceivedAt: time.Now().UTC(), Format: "A",
		Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + contractID + `"}`),
	}
	env.ID = events.EventID("default", events.KindContract, contractID, callbackType, status, "")
	h.publishEnvelope(env)
	return env
}

func (h *harness) publishEnvelope(env events.Envelope) {
	h.t.Helper()
	data, err := env.Encode()
	if err != nil {
		h.t.Fatal(err)
	}
	h.publishRaw(h.nats.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), data, env.ID)
}

func (h *harness) publishRaw(subject string, data []byte, msgID string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	if _, err := h.nats.JS.Publish(ctx, subject, data, opts...); err != nil {
		h.t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventuallyWithin)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// contract reads a ledger row, nil when absent.
func (h *harness) contract(id string) *store.Contract {
	h.t.Helper()
	c, err := h.ledger.Contract(context.Background(), "default", id)
	if err != nil {
		return nil
	}
	return c
}

// streamMessages returns the messages of a stream, oldest first.
func (h *harness) streamMessages(stream string) []*jetstream.RawStreamMsg {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := natstest.StreamMessages(ctx, h.nats.JS, stream)
	if err != nil {
		h.t.Fatal(err)
	}
	return msgs
}

func (h *harness) facts() []events.Fact {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	facts, err := e2e.StreamFacts(ctx, h.nats.JS, h.nats.Names)
	if err != nil {
		h.t.Fatal(err)
	}
	return facts
}

// addContract adds a contract with two signatories and two documents.
func (h *harness) addContract(status string) string {
	return h.fake.AddContract(qystest.ContractSpec{
		Subject: "采购合同", Status: status,
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲方科技有限公司", Contact: "13800000000"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13900000000"},
		},
		Documents: []qystest.DocumentSpec{{Title: "合同正文"}, {Title: "附件", Size: 64 << 10}},
	})
}

// completeInFake marks every signatory signed and the contract COMPLETE
// without sending callbacks.
func (h *harness) completeInFake(id string) {
	h.t.Helper()
	if err := h.fake.SetStatus(id, qys.StatusComplete); err != nil {
		h.t.Fatal(err)
	}
}

// gauge reads a gauge (the first series) from the harness registry; -1
// when it is not exposed.
func (h *harness) gauge(name string) float64 {
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// eventuallyWithin bounds eventually (a safety net, not a timing claim).
var eventuallyWithin = 60 * time.Second

// reconcileAPIs is the harness's API clients as the reconciler takes them.
func (h *harness) reconcileAPIs() map[string]reconcile.API {
	out := map[string]reconcile.API{}
	for tenant, api := range h.cfg.APIs {
		out[tenant] = api
	}
	return out
}
