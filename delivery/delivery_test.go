package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// endpointFor stores an endpoint delivering to s and gives s its secret.
func (f *fixture) endpointFor(id string, s *sink, mod func(*store.Endpoint)) *store.Endpoint {
	ep := f.addEndpoint(id, s.srv.URL, mod)
	s.mu.Lock()
	s.secret = ep.Secrets[0].Secret
	s.mu.Unlock()
	return ep
}

func ids(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// TestDeliversSignedFactsByFilter: each endpoint receives, verified by
// its own secret, the facts its filters select and no others; a fact of
// another tenant reaches none; the attempts are recorded.
func TestDeliversSignedFactsByFilter(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind)
			all, complete := newSink(t), newSink(t)
			f.endpointFor("ep_all", all, nil)
			f.endpointFor("ep_complete", complete, func(e *store.Endpoint) { e.Types = []string{"contract.COMPLETE"} })
			f.start(nil)
			f.waitFanout()
			a := f.publish("c1", 1, "SIGNING")
			b := f.publish("c1", 2, "COMPLETE")
			body, _ := json.Marshal(events.Fact{ID: "other-tenant", Tenant: "other"})
			if _, err := f.env.JS.Publish(context.Background(), f.env.Names.LedgerContractSubject("other", "COMPLETE"), body,
				jetstream.WithMsgID("other-tenant")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "both facts at ep_all", 20*time.Second, func() bool { return len(all.delivered()) >= 2 })
			waitFor(t, "the COMPLETE fact at ep_complete", 20*time.Second, func() bool { return len(complete.delivered()) >= 1 })
			time.Sleep(300 * time.Millisecond)
			got := ids(all.delivered())
			sort.Strings(got) // concurrency 4: any order
			if !slices.Equal(got, []string{a, b}) {
				t.Fatalf("ep_all got %v, want [%s %s]", got, a, b)
			}
			if got := ids(complete.delivered()); !slices.Equal(got, []string{b}) {
				t.Fatalf("ep_complete got %v, want [%s]", got, b)
			}
			waitFor(t, "the attempts recorded", 10*time.Second, func() bool {
				atts, _ := f.store.EndpointAttempts(context.Background(), store.EndpointAttemptFilter{EndpointID: "ep_all"})
				return len(atts) == 2 && atts[0].Status == 200 && atts[0].NextAttemptAt == nil
			})
		})
	}
}

// TestRetriesHonourRetryAfter: 500 twice, then 429 with Retry-After: 1,
// then 200: four attempts with the same webhook-id, the one after the 429
// no sooner than a second later; each failed attempt names its next one.
func TestRetriesHonourRetryAfter(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	s.setAnswer(func(_ *http.Request, n int) (int, bool) {
		switch n {
		case 1, 2:
			return 500, false
		case 3:
			return 429, false
		}
		return 200, false
	})
	f.endpointFor("ep_r", s, nil)
	f.start(nil)
	f.waitFanout()
	id := f.publish("c1", 1, "COMPLETE")
	waitFor(t, "the delivery", 20*time.Second, func() bool { return len(s.delivered()) == 1 })
	got := s.received()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4: %+v", len(got), got)
	}
	for _, r := range got {
		if r.ID != id {
			t.Fatalf("webhook-id %s, want %s on every attempt", r.ID, id)
		}
	}
	if gap := got[3].At.Sub(got[2].At); gap < 900*time.Millisecond {
		t.Fatalf("attempt after 429 Retry-After: 1 came %s later", gap)
	}
	waitFor(t, "four attempts recorded", 10*time.Second, func() bool {
		atts, _ := f.store.EndpointAttempts(context.Background(), store.EndpointAttemptFilter{EndpointID: "ep_r", FactID: id})
		if len(atts) != 4 {
			return false
		}
		for _, a := range atts[1:] { // newest first: the three failures
			if a.NextAttemptAt == nil || a.Status == 200 {
				t.Fatalf("failed attempt without its next attempt time: %+v", a)
			}
		}
		return atts[0].Status == 200
	})
}

// TestGoneDisablesAndEnableResumes: a 410 disables the endpoint with a
// DISABLED fact; facts published meanwhile wait; enabling it again
// delivers every one of them, nothing skipped.
func TestGoneDisablesAndEnableResumes(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	s.setAnswer(func(_ *http.Request, n int) (int, bool) {
		if n == 1 {
			return 410, false
		}
		return 200, false
	})
	f.endpointFor("ep_g", s, func(e *store.Endpoint) { e.Types = []string{"contract.>"} })
	facts := watchFacts(t, f, "endpoint.>")
	f.start(nil)
	f.waitFanout()
	first := f.publish("c1", 1, "SIGNING")
	waitFor(t, "the endpoint disabled", 20*time.Second, func() bool {
		ep, _ := f.store.Endpoint(context.Background(), "ep_g")
		return !ep.Enabled
	})
	ep, _ := f.store.Endpoint(context.Background(), "ep_g")
	if ep.DisabledReason == "" {
		t.Fatal("no disabled reason")
	}
	waitFor(t, "the DISABLED fact", 10*time.Second, func() bool { return slices.Contains(facts(), delivery.StatusDisabled) })
	more := []string{f.publish("c1", 2, "SIGNED"), f.publish("c1", 3, "COMPLETE")}
	time.Sleep(500 * time.Millisecond)
	if n := len(s.delivered()); n != 0 {
		t.Fatalf("a disabled endpoint received %d facts", n)
	}
	if _, err := f.store.SetEndpointEnabled(context.Background(), "ep_g", true, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every fact after re-enabling", 20*time.Second, func() bool { return len(s.delivered()) >= 3 })
	got := ids(s.delivered())
	want := append([]string{first}, more...)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

// watchFacts returns the statuses of the endpoint.status facts published
// on QYS_LEDGER, in order.
func watchFacts(t *testing.T, f *fixture, rel string) func() []string {
	t.Helper()
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	var got []string
	sub, err := f.env.NC.Subscribe(f.env.Names.LedgerTenantWildcard(tenant)[:len(f.env.Names.LedgerTenantWildcard(tenant))-1]+rel, func(m *natsMsg) {
		var fact events.Fact
		if json.Unmarshal(m.Data, &fact) == nil {
			<-mu
			got = append(got, fact.Status)
			mu <- struct{}{}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return func() []string {
		<-mu
		defer func() { mu <- struct{}{} }()
		return slices.Clone(got)
	}
}

// TestWarningBeforeDisable: an endpoint failing only is warned (a WARNING
// fact) before it is disabled (a DISABLED fact), once each.
func TestWarningBeforeDisable(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	s.setAnswer(func(*http.Request, int) (int, bool) { return 500, false })
	f.endpointFor("ep_w", s, func(e *store.Endpoint) { e.Types = []string{"contract.>"} })
	facts := watchFacts(t, f, "endpoint.>")
	f.start(func(o *delivery.Options) { o.DisableAfter = 1500 * time.Millisecond })
	f.waitFanout()
	f.publish("c1", 1, "COMPLETE")
	waitFor(t, "the DISABLED fact", 30*time.Second, func() bool { return slices.Contains(facts(), delivery.StatusDisabled) })
	time.Sleep(300 * time.Millisecond)
	if got := facts(); !slices.Equal(got, []string{delivery.StatusWarning, delivery.StatusDisabled}) {
		t.Fatalf("health facts %v, want [WARNING DISABLED]", got)
	}
}

// TestExhaustedGoesToDeadLetters: once the schedule is exhausted the
// delivery is a dead letter of its endpoint, holding the fact.
func TestExhaustedGoesToDeadLetters(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	s.setAnswer(func(*http.Request, int) (int, bool) { return 500, false })
	f.endpointFor("ep_d", s, nil)
	f.start(func(o *delivery.Options) { o.Schedule = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond} })
	f.waitFanout()
	id := f.publish("c1", 1, "COMPLETE")
	waitFor(t, "the dead letter", 20*time.Second, func() bool {
		dls, _ := f.store.EndpointDeadLetters(context.Background(), "ep_d", 0)
		return len(dls) == 1
	})
	dls, _ := f.store.EndpointDeadLetters(context.Background(), "ep_d", 0)
	if dls[0].FactID != id || dls[0].Attempts != 3 || dls[0].LastError != "HTTP 500" || !json.Valid(dls[0].Body) {
		t.Fatalf("dead letter %+v", dls[0])
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(s.received()); n != 3 {
		t.Fatalf("%d attempts, want 3 (1 + the schedule's 2)", n)
	}
}

// TestOrderedEndpointInSequence: an ordered endpoint failing one request
// in three receives each contract's facts in sequence.
func TestOrderedEndpointInSequence(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	s.setAnswer(func(_ *http.Request, n int) (int, bool) {
		if n%3 == 0 {
			return 500, false
		}
		return 200, false
	})
	f.endpointFor("ep_o", s, func(e *store.Endpoint) { e.Ordered = true; e.Concurrency = 8 })
	f.start(nil)
	f.waitFanout()
	const contracts, per = 4, 8
	for seq := int64(1); seq <= per; seq++ {
		for c := range contracts {
			f.publish(fmt.Sprintf("c%d", c), seq, "SIGNING")
		}
	}
	waitFor(t, "every fact", 60*time.Second, func() bool { return len(s.delivered()) >= contracts*per })
	checkOrder(t, s.delivered())
}

// checkOrder fails unless each contract's facts arrived (first success
// of each id) in sequence with none missing.
func checkOrder(t *testing.T, got []received) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]int64{}
	for _, r := range got {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		if r.Seq != last[r.Contract]+1 {
			t.Fatalf("contract %s: fact %d after %d", r.Contract, r.Seq, last[r.Contract])
		}
		last[r.Contract] = r.Seq
	}
}

// TestRateLimit: an endpoint limited to 5 deliveries a second receives
// ten facts, all of them, spread over about a second (a burst of 5, then
// one every 200 ms): a lower bound the limiter sets, not a speed.
func TestRateLimit(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	f.endpointFor("ep_rate", s, func(e *store.Endpoint) { e.RateLimit = 5; e.Concurrency = 8 })
	f.start(nil)
	f.waitFanout()
	for i := range 10 {
		f.publish("c1", int64(i+1), "SIGNING")
	}
	waitFor(t, "ten deliveries", 30*time.Second, func() bool { return len(s.delivered()) == 10 })
	got := s.delivered()
	if span := got[9].At.Sub(got[0].At); span < 900*time.Millisecond {
		t.Fatalf("ten deliveries at 5/s (burst 5) within %s", span)
	}
}
