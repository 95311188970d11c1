package delivery_test

import (
	"context"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// disabledByStage starts a stage whose failing endpoint id is disabled
// after its third failure (the WARNING at the second), the failed
// delivery's next retry an hour away.
func disabledByStage(t *testing.T, f *fixture, s *sink, id string) {
	t.Helper()
	s.setAnswer(func(*http.Request, int) (int, bool) { return 500, false })
	f.start(func(o *delivery.Options) {
		o.Schedule = []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, time.Hour, time.Hour}
		o.Jitter = -1
		o.DisableAfter = 300 * time.Millisecond
	})
	f.waitFanout()
	f.publish("c1", 1, "COMPLETE")
	waitFor(t, "disabled", 20*time.Second, func() bool {
		e, err := f.store.Endpoint(context.Background(), id)
		return err == nil && !e.Enabled
	})
}

func deliveredIDs(s *sink) []string {
	var ids []string
	for _, r := range s.delivered() {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestEnableResumesHeldDelivery: an endpoint the stage disabled for
// failing too long, whose last failed delivery was nak'd for the
// schedule's next delay (an hour), gets it as soon as it is enabled, not
// an hour later (docs/delivery.md: "enabling delivers them all").
func TestEnableResumesHeldDelivery(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	ep := f.addEndpoint("ep_a", s.srv.URL, func(e *store.Endpoint) { e.Types = []string{"contract.*"} })
	s.secret = ep.Secrets[0].Secret
	disabledByStage(t, f, s, "ep_a")
	s.setAnswer(func(*http.Request, int) (int, bool) { return 200, false })
	if _, err := f.store.SetEndpointEnabled(context.Background(), "ep_a", true, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held fact after enable", 20*time.Second, func() bool { return len(s.delivered()) == 1 })
}

// TestEnableResumesOrderedEndpoint: on an ordered endpoint (one delivery
// in flight) the held delivery blocked every later fact; after enable
// both come, in order.
func TestEnableResumesOrderedEndpoint(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	ep := f.addEndpoint("ep_o", s.srv.URL, func(e *store.Endpoint) {
		e.Ordered, e.Concurrency, e.Types = true, 1, []string{"contract.*"}
	})
	s.secret = ep.Secrets[0].Secret
	disabledByStage(t, f, s, "ep_o")
	s.setAnswer(func(*http.Request, int) (int, bool) { return 200, false })
	if _, err := f.store.SetEndpointEnabled(context.Background(), "ep_o", true, ""); err != nil {
		t.Fatal(err)
	}
	f.publish("c2", 1, "COMPLETE")
	waitFor(t, "both facts after enable", 20*time.Second, func() bool { return len(s.delivered()) >= 2 })
	if ids := deliveredIDs(s); ids[0] != "fact-c1-1" || ids[1] != "fact-c2-1" {
		t.Fatalf("delivered out of order: %v", ids)
	}
}

// TestEnableAfterOperatorDisableResumes: a retry nak'd for an hour, then
// the endpoint disabled by an operator (not by the stage): enabling it
// delivers the retry at once too.
func TestEnableAfterOperatorDisableResumes(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	ep := f.addEndpoint("ep_m", s.srv.URL, nil)
	s.secret = ep.Secrets[0].Secret
	s.setAnswer(func(*http.Request, int) (int, bool) { return 500, false })
	f.start(func(o *delivery.Options) {
		o.Schedule = []time.Duration{time.Hour}
		o.Jitter = -1
	})
	f.waitFanout()
	f.publish("c1", 1, "COMPLETE")
	waitFor(t, "the first failure", 20*time.Second, func() bool { return len(s.received()) == 1 })
	if _, err := f.store.SetEndpointEnabled(context.Background(), "ep_m", false, "disabled by test"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the stage reads the endpoints every 50 ms
	s.setAnswer(func(*http.Request, int) (int, bool) { return 200, false })
	if _, err := f.store.SetEndpointEnabled(context.Background(), "ep_m", true, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held fact after enable", 20*time.Second, func() bool { return len(s.delivered()) == 1 })
}

// TestDisableAlwaysWarnsFirst: an endpoint that failed once, then was
// quiet for longer than DisableAfter, is not disabled by its next
// failure without a WARNING fact (the review found it was, at once):
// failing is measured while attempts keep failing, and the disable comes
// at least DisableAfter/2 after the warning.
func TestDisableAlwaysWarnsFirst(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	ep := f.addEndpoint("ep_b", s.srv.URL, nil)
	s.secret = ep.Secrets[0].Secret
	s.setAnswer(func(*http.Request, int) (int, bool) { return 500, false })
	const disableAfter = 2 * time.Second
	f.start(func(o *delivery.Options) {
		o.Schedule = []time.Duration{100 * time.Millisecond}
		o.Jitter = -1
		o.DisableAfter = disableAfter
	})
	f.waitFanout()
	f.publish("c1", 1, "COMPLETE")
	time.Sleep(disableAfter + 500*time.Millisecond)
	disabled := func() bool {
		e, err := f.store.Endpoint(context.Background(), "ep_b")
		return err == nil && !e.Enabled
	}
	for i := int64(2); i < 200 && !disabled(); i++ {
		f.publish("c", i, "COMPLETE")
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, "disabled", 20*time.Second, disabled)
	str, err := f.env.JS.Stream(context.Background(), f.env.Names.LedgerStream())
	if err != nil {
		t.Fatal(err)
	}
	warn, err := str.GetLastMsgForSubject(context.Background(), f.env.Names.LedgerEndpointSubject(tenant, delivery.StatusWarning))
	if err != nil {
		t.Fatalf("disabled with no WARNING fact published: %v", err)
	}
	dis, err := str.GetLastMsgForSubject(context.Background(), f.env.Names.LedgerEndpointSubject(tenant, delivery.StatusDisabled))
	if err != nil {
		t.Fatalf("no DISABLED fact: %v", err)
	}
	if dis.Sequence < warn.Sequence || dis.Time.Sub(warn.Time) < disableAfter/2 {
		t.Fatalf("WARNING (seq %d at %s) not DisableAfter/2 before DISABLED (seq %d at %s)", warn.Sequence,
			warn.Time.Format(time.StampMilli), dis.Sequence, dis.Time.Format(time.StampMilli))
	}
}

// queueHookStore runs hook (once) when the fan-out has just read the
// endpoints, before it queues.
type queueHookStore struct {
	store.EndpointStore
	mu    sync.Mutex
	hook  func()
	fired chan struct{}
}

func (h *queueHookStore) Endpoints(ctx context.Context, tenant string) ([]store.Endpoint, error) {
	eps, err := h.EndpointStore.Endpoints(ctx, tenant)
	if strings.Contains(string(debug.Stack()), "(*Stage).queue") {
		h.mu.Lock()
		fn := h.hook
		h.hook = nil
		h.mu.Unlock()
		if fn != nil {
			fn()
			close(h.fired)
		}
	}
	return eps, err
}

// TestDeletedEndpointQueuePurged: an endpoint deleted (as the admin API
// does: DeleteEndpoint, then deliveryq.Remove) while a fan-out batch that
// had read it was about to queue: the batch's delivery, queued after the
// purge, is purged by the stage (the review found it left forever). And
// QYS_DELIVERY has a max age, longer than the retry schedule.
func TestDeletedEndpointQueuePurged(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	ep := f.addEndpoint("ep_d", s.srv.URL, nil)
	s.secret = ep.Secrets[0].Secret
	hs := &queueHookStore{EndpointStore: f.store, fired: make(chan struct{})}
	f.start(func(o *delivery.Options) { o.Store = hs })
	f.waitFanout()
	time.Sleep(500 * time.Millisecond) // the runner makes its consumer
	hs.mu.Lock()
	hs.hook = func() {
		ctx := context.Background()
		if err := f.store.DeleteEndpoint(ctx, "ep_d"); err != nil {
			t.Error(err)
		}
		if err := deliveryq.Remove(ctx, f.env.JS, f.env.Names, "ep_d"); err != nil {
			t.Error(err)
		}
	}
	hs.mu.Unlock()
	cursor, _, _ := f.store.DeliveryCursor(context.Background(), "qyshook_delivery_fanout")
	f.publish("c1", 1, "COMPLETE")
	select {
	case <-hs.fired:
	case <-time.After(20 * time.Second):
		t.Fatal("the fan-out never read the endpoints")
	}
	waitFor(t, "the fan-out's cursor past the fact", 20*time.Second, func() bool {
		c, _, err := f.store.DeliveryCursor(context.Background(), "qyshook_delivery_fanout")
		return err == nil && c > cursor
	})
	str, err := f.env.JS.Stream(context.Background(), f.env.Names.DeliveryStream())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no delivery left for the deleted endpoint", 10*time.Second, func() bool {
		_, err := str.GetLastMsgForSubject(context.Background(), f.env.Names.DeliverySubject("ep_d"))
		return err != nil
	})
	info, err := str.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Config.MaxAge, delivery.QueueMaxAge(f.opts.Schedule); got != want || got < 30*24*time.Hour {
		t.Fatalf("QYS_DELIVERY max age %s, want %s", got, want)
	}
}
