package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

const tenant = "default"

// fixture is a running JetStream with the streams, a ledger keeping
// endpoints, and a way to start and stop delivery stages.
type fixture struct {
	t     *testing.T
	env   *natstest.Env
	store store.EndpointStore
	opts  delivery.Options
}

func newFixture(t *testing.T, kind testdb.Kind) *fixture {
	t.Helper()
	// The store syncs as serve's does (grouped where the platform allows,
	// else each write): the delivery stage must wait for it (SyncAcked).
	env, _ := natstest.NewGrouped(t)
	l := testdb.Open(t, kind)
	es, ok := l.(store.EndpointStore)
	if !ok {
		t.Fatalf("%T keeps no endpoints", l)
	}
	return &fixture{t: t, env: env, store: es, opts: delivery.Options{
		JS: env.JS, Names: env.Names, Store: es, Schedule: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond,
			200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond,
			200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond,
			200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond,
			200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond,
			200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond},
		Timeout: 500 * time.Millisecond, AckWait: 1500 * time.Millisecond, Refresh: 50 * time.Millisecond,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	}}
}

// start runs a stage; the returned stop ends it (its attempts in flight
// are abandoned unacknowledged, as when a process is killed).
func (f *fixture) start(mod func(*delivery.Options)) (stop func()) {
	f.t.Helper()
	o := f.opts
	if mod != nil {
		mod(&o)
	}
	st, err := delivery.New(o)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := st.Run(ctx); err != nil {
			f.t.Errorf("delivery stage: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	f.t.Cleanup(stop)
	return stop
}

// waitFanout waits until the fan-out has set its cursor: facts published
// from then on are delivered (those before its first start are not).
func (f *fixture) waitFanout() {
	f.t.Helper()
	waitFor(f.t, "the fan-out's cursor", 30*time.Second, func() bool {
		_, ok, err := f.store.DeliveryCursor(context.Background(), "qyshook_delivery_fanout")
		return err == nil && ok
	})
}

// addEndpoint stores an enabled endpoint for url (private and http allowed).
func (f *fixture) addEndpoint(id, url string, mod func(*store.Endpoint)) *store.Endpoint {
	f.t.Helper()
	secret, err := webhook.NewSecret()
	if err != nil {
		f.t.Fatal(err)
	}
	ep := store.Endpoint{ID: id, Tenant: tenant, URL: url, Secrets: []store.EndpointSecret{{Secret: secret, CreatedAt: time.Now()}},
		Concurrency: 4, AllowPrivate: true, AllowHTTP: true, Enabled: true, CreatedAt: time.Now().Add(-time.Second)}
	if mod != nil {
		mod(&ep)
	}
	if err := f.store.SaveEndpoint(context.Background(), ep); err != nil {
		f.t.Fatal(err)
	}
	return &ep
}

// publish publishes a contract fact on QYS_LEDGER as the relay does and
// returns its id.
func (f *fixture) publish(contract string, seq int64, status string) string {
	f.t.Helper()
	id := fmt.Sprintf("fact-%s-%d", contract, seq)
	body, _ := json.Marshal(events.Fact{Schema: events.SchemaLedgerV1, ID: id, Tenant: tenant, Kind: events.FactContractStatus,
		ContractID: contract, Seq: seq, Status: status, Confirmed: true, OccurredAt: time.Now().UTC()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.env.JS.Publish(ctx, f.env.Names.LedgerContractSubject(tenant, status), body, jetstream.WithMsgID(id)); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// received is one request a sink verified.
type received struct {
	ID       string
	Contract string
	Seq      int64
	At       time.Time
	Status   int // what the sink answered
}

// sink is an HTTP endpoint that verifies each request's signature with
// its secret and answers as its mode says.
type sink struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	got    []received
	answer func(r *http.Request, n int) (status int, hang bool)
	n      int
	stopCh chan struct{}
}

func newSink(t *testing.T) *sink {
	s := &sink{t: t, stopCh: make(chan struct{}), answer: func(*http.Request, int) (int, bool) { return 200, false }}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() { close(s.stopCh); s.srv.CloseClientConnections(); s.srv.Close() })
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	var body []byte
	body, err := readAll(r)
	if err != nil {
		return
	}
	s.mu.Lock()
	secret, answer := s.secret, s.answer
	s.n++
	n := s.n
	s.mu.Unlock()
	if err := webhook.Verify(secret, r.Header, body, time.Now()); err != nil {
		s.t.Errorf("sink: %v", err)
		w.WriteHeader(400)
		return
	}
	var f events.Fact
	if err := json.Unmarshal(body, &f); err != nil || f.ID != r.Header.Get(webhook.HeaderID) {
		s.t.Errorf("sink: body %s does not hold the fact %s: %v", body, r.Header.Get(webhook.HeaderID), err)
	}
	status, hang := answer(r, n)
	if hang {
		select {
		case <-r.Context().Done():
		case <-s.stopCh:
		}
		return
	}
	if status == 429 || status == 503 {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	s.mu.Lock()
	s.got = append(s.got, received{ID: f.ID, Contract: f.ContractID, Seq: f.Seq, At: time.Now(), Status: status})
	s.mu.Unlock()
}

func (s *sink) setAnswer(fn func(r *http.Request, n int) (int, bool)) {
	s.mu.Lock()
	s.answer = fn
	s.mu.Unlock()
}

func (s *sink) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// delivered returns the ids answered 2xx, in order of arrival.
func (s *sink) delivered() []received {
	var out []received
	for _, r := range s.received() {
		if r.Status >= 200 && r.Status < 300 {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls cond until it holds or the wait (generous: it bounds a
// hang, it does not measure speed) ends.
func waitFor(t *testing.T, what string, wait time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
