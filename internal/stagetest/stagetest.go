// Package stagetest is the harness the stage tests share (dispatcher,
// reconcile): a dispatcher and the archive stage beside it wired to real
// parts, a JetStream (embedded or QYSHOOK_TEST_NATS_URL), a fake 契约锁, a
// real ledger and document store, with helpers to publish callbacks and
// read what the stages made of them. Only tests import it.
package stagetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/relay"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// Harness is a dispatcher wired to real parts, with the archive stage run
// beside it. Tests change Config and Archive before Start.
type Harness struct {
	T        *testing.T
	NATS     *natstest.Env
	Fake     *qystest.Server
	Ledger   store.Ledger
	DataDir  string
	Config   dispatcher.Options
	Archive  archiver.Options // the archive stage run beside the dispatcher
	Registry *prometheus.Registry

	mu   sync.Mutex
	stop func() error // app.StartStages' stop; nil when nothing runs
}

// Option changes a Harness before New returns it.
type Option func(*Harness)

// WithoutAPI leaves the default tenant without API credentials.
func WithoutAPI() Option {
	return func(h *Harness) { h.Config.APIs, h.Archive.APIs = nil, nil }
}

// New returns a harness on a fresh JetStream (natstest.New).
func New(t *testing.T, ledger store.Ledger, opts ...Option) *Harness {
	t.Helper()
	return NewOn(t, natstest.New(t), ledger, opts...)
}

// NewOn is New on a given JetStream.
func NewOn(t *testing.T, env *natstest.Env, ledger store.Ledger, opts ...Option) *Harness {
	t.Helper()
	h := &Harness{T: t, NATS: env, Ledger: ledger, DataDir: t.TempDir(), Registry: prometheus.NewRegistry()}
	h.Fake = qystest.NewServer()
	t.Cleanup(h.Fake.Close)
	client, err := h.Fake.Client()
	if err != nil {
		t.Fatal(err)
	}
	h.Config = dispatcher.Options{
		JS: h.NATS.JS, Names: h.NATS.Names, Ledger: ledger,
		APIs:       map[string]dispatcher.API{"default": client},
		MaxDeliver: 5, AckWait: 5 * time.Second,
		Backoff:    dispatcher.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Registerer: h.Registry,
	}
	h.Archive = archiver.Options{
		Ledger: ledger, Docs: docstore.New(h.DataDir), Names: h.NATS.Names,
		APIs:    map[string]archiver.API{"default": client},
		Workers: 4, PollInterval: 20 * time.Millisecond, BackoffBase: 10 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond, MaxAttempts: 5, Grace: time.Second, Registerer: h.Registry,
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Start runs the dispatcher and the archive stage until Stop or the end
// of the test.
func (h *Harness) Start() {
	h.T.Helper()
	rel, err := relay.New(relay.Options{JS: h.Config.JS, Ledger: h.Config.Ledger, Registerer: h.Config.Registerer})
	if err != nil {
		h.T.Fatal(err)
	}
	cfg := h.Config
	cfg.Committed = rel.Kick
	d, err := dispatcher.New(cfg)
	if err != nil {
		h.T.Fatal(err)
	}
	a, err := archiver.New(h.Archive)
	if err != nil {
		h.T.Fatal(err)
	}
	// Run as the service runs them: the relay stopped after the others.
	stop := app.StartStages(zerolog.Nop(), []app.Stage{{Name: "dispatcher", Run: d.Run},
		{Name: "archiver", Run: a.Run}, {Name: "relay", Run: rel.Run, Last: true}})
	h.mu.Lock()
	h.stop = stop
	h.mu.Unlock()
	h.T.Cleanup(h.Stop)
}

// Stop stops what Start runs and waits for it; it does nothing when
// nothing runs.
func (h *Harness) Stop() {
	h.mu.Lock()
	stop := h.stop
	h.stop = nil
	h.mu.Unlock()
	if stop == nil {
		return
	}
	done := make(chan error, 1)
	go func() { done <- stop() }()
	select {
	case err := <-done:
		if err != nil {
			h.T.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.T.Error("dispatcher, archiver or relay did not stop")
	}
}

// PublishContract puts a contract callback envelope on QYS_CALLBACKS.
func (h *Harness) PublishContract(contractID, callbackType, status string) events.Envelope {
	h.T.Helper()
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: callbackType,
		ContractID: contractID, ContractStatus: status, ReceivedAt: time.Now().UTC(), Format: "A",
		Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + contractID + `"}`),
	}
	env.ID = events.EventID("default", events.KindContract, contractID, callbackType, status, "")
	h.PublishEnvelope(env)
	return env
}

// PublishEnvelope puts env on its callback subject, with its id as
// Nats-Msg-Id.
func (h *Harness) PublishEnvelope(env events.Envelope) {
	h.T.Helper()
	data, err := env.Encode()
	if err != nil {
		h.T.Fatal(err)
	}
	h.PublishRaw(h.NATS.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), data, env.ID)
}

// PublishRaw publishes data on subject (with msgID as Nats-Msg-Id unless
// it is empty).
func (h *Harness) PublishRaw(subject string, data []byte, msgID string) {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	if _, err := h.NATS.JS.Publish(ctx, subject, data, opts...); err != nil {
		h.T.Fatal(err)
	}
}

// CertEnvelope is a certification callback claiming status for requestID.
func CertEnvelope(kind, requestID, status string) events.Envelope {
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: kind, Type: "AUTH",
		Auth: &events.Auth{RequestID: requestID, Status: status, Success: status == qys.AuthStatusSuccess,
			Mode: "FACE", Name: "张三"},
		ReceivedAt: time.Now().UTC(), Format: "A", Source: events.SourceCallback, Payload: json.RawMessage(`{}`),
	}
	env.ID = events.EventID("default", kind, requestID, "AUTH", status, "")
	return env
}

// Eventually polls cond until it holds or EventuallyWithin passes.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventuallyWithin)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// EventuallyWithin bounds Eventually (a safety net, not a timing claim).
var EventuallyWithin = 60 * time.Second

// Contract reads a ledger row, nil when absent.
func (h *Harness) Contract(id string) *store.Contract {
	h.T.Helper()
	c, err := h.Ledger.Contract(context.Background(), "default", id)
	if err != nil {
		return nil
	}
	return c
}

// Certification reads a certification of the default tenant, nil when
// absent.
func (h *Harness) Certification(requestID string) *store.Certification {
	c, err := h.Ledger.Certification(context.Background(), "default", requestID)
	if err != nil {
		return nil
	}
	return c
}

// Settled reports whether the dispatcher's consumer has nothing pending
// and nothing waiting for an ack.
func (h *Harness) Settled() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*h.Config.AckWait)
	defer cancel()
	cons, err := h.NATS.JS.Consumer(ctx, h.NATS.Names.CallbacksStream(), h.NATS.Names.Durable(events.DurableLedger))
	if err != nil {
		return false
	}
	info, err := cons.Info(ctx)
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}

// StreamMessages returns the messages of a stream, oldest first.
func (h *Harness) StreamMessages(stream string) []*jetstream.RawStreamMsg {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := natstest.StreamMessages(ctx, h.NATS.JS, stream)
	if err != nil {
		h.T.Fatal(err)
	}
	return msgs
}

// Facts returns the facts on QYS_LEDGER, oldest first.
func (h *Harness) Facts() []events.Fact {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	facts, err := e2e.StreamFacts(ctx, h.NATS.JS, h.NATS.Names)
	if err != nil {
		h.T.Fatal(err)
	}
	return facts
}

// AddContract adds a contract with two signatories and two documents to
// the fake.
func (h *Harness) AddContract(status string) string {
	return h.Fake.AddContract(qystest.ContractSpec{
		Subject: "采购合同", Status: status,
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲方科技有限公司", Contact: "13800000000"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13900000000"},
		},
		Documents: []qystest.DocumentSpec{{Title: "合同正文"}, {Title: "附件", Size: 64 << 10}},
	})
}

// CompleteInFake marks every signatory signed and the contract COMPLETE
// without sending callbacks.
func (h *Harness) CompleteInFake(id string) {
	h.T.Helper()
	if err := h.Fake.SetStatus(id, lifecycle.Complete); err != nil {
		h.T.Fatal(err)
	}
}

// Gauge reads a gauge (the first series) from the harness registry; -1
// when it is not exposed.
func (h *Harness) Gauge(name string) float64 {
	mfs, err := h.Registry.Gather()
	if err != nil {
		h.T.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// ReconcileAPIs is the harness's API clients as the reconciler takes them.
func (h *Harness) ReconcileAPIs() map[string]reconcile.API {
	out := map[string]reconcile.API{}
	for tenant, api := range h.Config.APIs {
		out[tenant] = api
	}
	return out
}
