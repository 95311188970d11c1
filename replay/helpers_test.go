package replay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/relay"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// world is a JetStream with callbacks published at known sequences and
// times, and a fake 契约锁 that confirms the contracts.
type world struct {
	t    *testing.T
	nats *natstest.Env
	fake *qystest.Server
	api  dispatcher.API
	// published lists what was put on the stream, in order.
	published []published
}

// published is one message put on QYS_CALLBACKS.
type published struct {
	seq uint64
	at  time.Time
	env *events.Envelope // nil for an undecodable message
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, nats: natstest.New(t), fake: qystest.NewServer()}
	t.Cleanup(w.fake.Close)
	c, err := w.fake.Client()
	if err != nil {
		t.Fatal(err)
	}
	w.api = c
	return w
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// addContract adds a contract with two signatories and two documents.
func (w *world) addContract(status string) string {
	return w.fake.AddContract(qystest.ContractSpec{
		Subject: "采购合同", Status: status,
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲方科技有限公司", Contact: "13800000000"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13900000000"},
		},
		Documents: []qystest.DocumentSpec{{Title: "合同正文"}, {Title: "附件", Size: 32 << 10}},
	})
}

// contractEnvelope is a contract callback as the receiver stores it.
func contractEnvelope(tenant, contractID, callbackType, status, actor string) *events.Envelope {
	env := &events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: tenant, Kind: events.KindContract, Type: callbackType,
		ContractID: contractID, ContractStatus: status, ReceivedAt: time.Now().UTC().Truncate(time.Millisecond),
		Format: "A", Source: events.SourceCallback,
		Payload: json.RawMessage(`{"contractId":"` + contractID + `","callbackType":"` + callbackType + `"}`),
	}
	if actor != "" {
		env.Actor = &events.Actor{TenantType: "PERSONAL", TenantName: actor}
	}
	env.ID = events.EventID(tenant, env.Kind, contractID, callbackType, status, events.ActorKey(env.Actor))
	return env
}

// authEnvelope is a personal certification callback.
func authEnvelope(tenant, requestID, status string) *events.Envelope {
	env := &events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: tenant, Kind: events.KindAuthPersonal, Type: qys.CallbackTypeAuth,
		Auth:       &events.Auth{RequestID: requestID, Status: status, Success: status == "1", Name: "李四"},
		ReceivedAt: time.Now().UTC().Truncate(time.Millisecond), Format: "A", Source: events.SourceCallback,
		Payload: json.RawMessage(`{"authId":"` + requestID + `"}`),
	}
	env.ID = events.EventID(tenant, env.Kind, requestID, env.Type, status, "")
	return env
}

// publish puts env on the stream and records its sequence and time.
func (w *world) publish(env *events.Envelope) published {
	w.t.Helper()
	data, err := env.Encode()
	if err != nil {
		w.t.Fatal(err)
	}
	return w.publishRaw(w.nats.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), data, env.ID, env)
}

func (w *world) publishRaw(subject string, data []byte, msgID string, env *events.Envelope) published {
	w.t.Helper()
	ctx := ctxT(w.t)
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	ack, err := w.nats.JS.Publish(ctx, subject, data, opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := w.nats.JS.Stream(ctx, w.nats.Names.CallbacksStream())
	if err != nil {
		w.t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		w.t.Fatal(err)
	}
	p := published{seq: ack.Sequence, at: m.Time, env: env}
	w.published = append(w.published, p)
	return p
}

// run starts a dispatcher (the running service) applying QYS_CALLBACKS
// into ledger, archiving under dir, and returns the function stopping it.
func (w *world) run(t *testing.T, ledger store.Ledger, dir string) (stop func()) {
	t.Helper()
	rel, err := relay.New(relay.Options{JS: w.nats.JS, Ledger: ledger})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dispatcher.New(dispatcher.Options{
		JS: w.nats.JS, Names: w.nats.Names, Ledger: ledger,
		APIs:       map[string]dispatcher.API{"default": w.api, "acme": w.api},
		MaxDeliver: 2, Backoff: dispatcher.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Committed: rel.Kick,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The archive stage beside it, as in a dispatcher process.
	api := w.api.(archiver.API)
	a, err := archiver.New(archiver.Options{Ledger: ledger, Docs: docstore.New(dir), Names: w.nats.Names,
		APIs: map[string]archiver.API{"default": api, "acme": api}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The relay stage stopped after the dispatcher, as in the service.
	stopStages := app.StartStages(zerolog.Nop(), []app.Stage{{Name: "dispatcher", Run: d.Run},
		{Name: "archiver", Run: a.Run}, {Name: "relay", Run: rel.Run, Last: true}})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := stopStages(); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls cond until it holds, or fails after a generous
// deadline (a hang, not a speed check).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// snapshot is what a ledger knows, without the times of applying.
type snapshot struct {
	Contracts      []contractSnap
	Certifications []store.Certification
}

type contractSnap struct {
	Tenant, ID, BizID, Subject, Status string
	Confirmed                          bool
	Completed                          bool
	Detail                             string
	Signatories                        []store.Signatory
	Documents                          []string // id title sha256 size path
	Events                             []string // id kind type source
}

// takeSnapshot reads every contract, its signatories, documents and
// events, and the certifications of tenants.
func takeSnapshot(t *testing.T, l store.Ledger, tenants ...string) snapshot {
	t.Helper()
	ctx := ctxT(t)
	var snap snapshot
	rows, err := l.Contracts(ctx, store.ContractFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		c, err := l.Contract(ctx, r.Tenant, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		cs := contractSnap{Tenant: c.Tenant, ID: c.ID, BizID: c.BizID, Subject: c.Subject, Status: c.Status,
			Confirmed: c.Confirmed, Completed: c.CompletedAt != nil, Detail: string(c.Detail), Signatories: c.Signatories}
		for _, d := range c.Documents {
			cs.Documents = append(cs.Documents, fmt.Sprintf("%s %s %s %d %s", d.ID, d.Title, d.SHA256, d.Size, d.Path))
		}
		evs, err := l.Events(ctx, c.Tenant, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			cs.Events = append(cs.Events, e.ID+" "+e.Kind+" "+e.Type+" "+e.Source)
		}
		sort.Strings(cs.Documents)
		sort.Strings(cs.Events)
		snap.Contracts = append(snap.Contracts, cs)
	}
	sort.Slice(snap.Contracts, func(i, j int) bool {
		return snap.Contracts[i].Tenant+snap.Contracts[i].ID < snap.Contracts[j].Tenant+snap.Contracts[j].ID
	})
	for _, tenant := range tenants {
		certs, err := l.Certifications(ctx, tenant, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range certs {
			c.UpdatedAt = time.Time{}
			snap.Certifications = append(snap.Certifications, c)
		}
	}
	return snap
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
