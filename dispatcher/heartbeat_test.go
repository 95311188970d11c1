package dispatcher

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// callLog records the acknowledgements sent for one message, in order.
type callLog struct {
	mu       sync.Mutex
	calls    []string
	entered  chan struct{} // closed when the first InProgress starts
	returned chan struct{} // closed when the first InProgress has been sent
	nakked   chan struct{} // closed by the first Nak
	first    bool
	nakOnce  sync.Once
}

func (l *callLog) add(call string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
}

// recordingMsg is a real JetStream message whose InProgress and Nak calls
// are recorded. The first InProgress waits, once started, for a Nak (or,
// when none comes, a bounded while) before it is sent: the moment a
// heartbeat goroutine is mid-loop when the batch settles.
type recordingMsg struct {
	jetstream.Msg
	log *callLog
}

func (m recordingMsg) InProgress() error {
	m.log.mu.Lock()
	first := !m.log.first
	m.log.first = true
	m.log.mu.Unlock()
	if first {
		close(m.log.entered)
		t := time.NewTimer(2 * time.Second)
		select {
		case <-m.log.nakked:
		case <-t.C:
		}
		t.Stop()
		defer close(m.log.returned)
	}
	m.log.add("InProgress")
	return m.Msg.InProgress()
}

func (m recordingMsg) NakWithDelay(d time.Duration) error {
	m.log.add("Nak")
	m.log.nakOnce.Do(func() { close(m.log.nakked) })
	return m.Msg.NakWithDelay(d)
}

func (m recordingMsg) Nak() error { return m.NakWithDelay(0) }

// TestNoHeartbeatAfterNak: a heartbeat goroutine caught mid-loop when
// its batch fails must finish before the NAK is sent; an InProgress after
// NakWithDelay restarts the message's AckWait and cancels the delay.
func TestNoHeartbeatAfterNak(t *testing.T) {
	env := natstest.New(t)
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	client, err := fake.Client(qys.WithRetries(0, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{
		JS: env.JS, Names: env.Names, Ledger: testdb.Open(t, testdb.SQLite),
		APIs:    map[string]API{"default": client},
		AckWait: 30 * time.Millisecond, MaxDeliver: 5,
		Backoff: Backoff{Base: time.Minute, Max: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := fake.AddContract(qystest.ContractSpec{Subject: "heartbeat", Status: lifecycle.Signing,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13900000000"}}})
	ev := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: "SEAL",
		ContractID: id, ContractStatus: lifecycle.Signing, ReceivedAt: time.Now().UTC(), Format: "A",
		Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + id + `"}`),
	}
	ev.ID = events.EventID("default", events.KindContract, id, "SEAL", lifecycle.Signing, "")
	data, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := env.JS.Publish(ctx, env.Names.CallbackSubject("default", events.KindContract, "SEAL"), data); err != nil {
		t.Fatal(err)
	}
	cons, err := env.JS.CreateOrUpdateConsumer(ctx, env.Names.CallbacksStream(), d.ConsumerConfig())
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	msgs := drain(batch)
	if len(msgs) != 1 {
		t.Fatalf("fetched %d messages, want 1", len(msgs))
	}
	log := &callLog{entered: make(chan struct{}), returned: make(chan struct{}), nakked: make(chan struct{})}

	gate := fake.HoldDetail(id)
	t.Cleanup(gate.Release)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.processBatch(ctx, []jetstream.Msg{recordingMsg{Msg: msgs[0], log: log}})
	}()
	<-gate.Held()                    // the batch is being worked
	<-log.entered                    // and a heartbeat is on its way
	gate.Fail(http.StatusBadGateway) // the detail fails: the batch NAKs
	<-done
	<-log.returned

	log.mu.Lock()
	calls := slices.Clone(log.calls)
	log.mu.Unlock()
	nak := slices.Index(calls, "Nak")
	if nak < 0 {
		t.Fatalf("calls %v: no Nak", calls)
	}
	if slices.Contains(calls[nak+1:], "InProgress") {
		t.Fatalf("calls %v: InProgress after the Nak", calls)
	}
}
