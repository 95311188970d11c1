package dispatcher_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/confirm"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// blockingAPI holds the first detail request it is asked until release
// is closed; later requests go straight through.
type blockingAPI struct {
	dispatcher.API
	once    *sync.Once
	entered chan struct{}
	release chan struct{}
}

func newBlockingAPI(api dispatcher.API) blockingAPI {
	return blockingAPI{API: api, once: &sync.Once{}, entered: make(chan struct{}), release: make(chan struct{})}
}

func (b blockingAPI) ContractDetail(ctx context.Context, q qys.ContractQuery) (*qys.Contract, error) {
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.entered)
		<-b.release
	}
	return b.API.ContractDetail(ctx, q)
}

// otherApplier fetches the contract's detail as another applier would
// (directly, not through the held request) and returns the change it
// would commit, with its fetch times.
func otherApplier(t *testing.T, api dispatcher.API, id, eventType string) store.ContractChange {
	t.Helper()
	began := confirm.FetchTime(time.Now())
	d, err := api.ContractDetail(context.Background(), qys.ContractQuery{ContractID: id})
	if err != nil {
		t.Fatal(err)
	}
	c := confirm.ContractFromDetail("default", d)
	c.FetchedAt, c.FetchEndedAt = began, confirm.FetchTime(time.Now())
	return store.ContractChange{
		Event:    store.Event{ID: "other-" + id, Tenant: "default", Kind: events.KindContract, Type: eventType, ContractID: id},
		Contract: c,
	}
}

// TestOverlappingFetchKeepsForwardMove: fetch A begins first but is
// answered after the contract completed; another applier's fetch B begins
// later, is answered earlier (SIGNING) and commits first. A's COMPLETE is
// a forward move and must be applied (it was refused as "fetched before"
// and its callback acked: the ledger stayed SIGNING).
func TestOverlappingFetchKeepsForwardMove(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		ctx := context.Background()
		id := h.AddContract(lifecycle.Signing)
		b := newBlockingAPI(h.Config.APIs["default"])
		h.Config.APIs = map[string]dispatcher.API{"default": b}
		h.Start()
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
		<-b.entered // A's fetch has begun
		for t0 := confirm.FetchTime(time.Now()); !confirm.FetchTime(time.Now()).After(t0); {
			time.Sleep(time.Millisecond) // B begins strictly later
		}
		if _, err := h.Ledger.ApplyContract(ctx, otherApplier(t, b.API, id, "SEAL")); err != nil {
			t.Fatal(err)
		}
		if c := h.Contract(id); c.Status != lifecycle.Signing {
			t.Fatalf("B committed %s, want SIGNING", c.Status)
		}
		h.CompleteInFake(id) // the platform completes; A is answered now
		close(b.release)
		stagetest.Eventually(t, "A's COMPLETE applied", func() bool {
			c := h.Contract(id)
			return c != nil && c.Status == lifecycle.Complete
		})
		evs, err := l.Events(ctx, "default", id)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %d, %v; want B's and A's", len(evs), err)
		}
	})
}

// TestOverlappingFetchDoesNotRevertVoiding: A's fetch begins first and is
// answered INVALIDING (the voiding began meanwhile) and commits; B's fetch
// began later but was answered earlier (COMPLETE) and commits last. B's
// view is not definitely newer, so it must not step the voiding back to
// COMPLETE; the store says it is stale (so a dispatcher fetches again).
func TestOverlappingFetchDoesNotRevertVoiding(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		ctx := context.Background()
		id := h.AddContract(lifecycle.Signing)
		h.CompleteInFake(id)
		b := newBlockingAPI(h.Config.APIs["default"])
		h.Config.APIs = map[string]dispatcher.API{"default": b}
		h.Start()
		h.PublishContract(id, "INVALIDING", lifecycle.Invaliding)
		<-b.entered // A's fetch begins; its answer is slow
		for t0 := confirm.FetchTime(time.Now()); !confirm.FetchTime(time.Now()).After(t0); {
			time.Sleep(time.Millisecond)
		}
		other := otherApplier(t, b.API, id, "COMPLETE") // B: begins later, answered first (COMPLETE)
		if other.Contract.Status != lifecycle.Complete {
			t.Fatalf("B saw %s", other.Contract.Status)
		}
		if err := h.Fake.SetStatus(id, lifecycle.Invaliding); err != nil {
			t.Fatal(err)
		}
		close(b.release) // A is answered INVALIDING and commits it
		stagetest.Eventually(t, "INVALIDING", func() bool { c := h.Contract(id); return c != nil && c.Status == lifecycle.Invaliding })
		res, err := h.Ledger.ApplyContract(ctx, other) // B commits last
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Contract(id); got.Status != lifecycle.Invaliding {
			t.Fatalf("ledger %s: the COMPLETE answered before the voiding stepped INVALIDING back", got.Status)
		}
		if res.Changed || !res.Stale {
			t.Fatalf("B's change: changed=%v stale=%v; want refused as stale", res.Changed, res.Stale)
		}
	})
}

// TestStaleDetailFetchedAgain: a dispatcher whose detail overlapped the
// row's and was refused as stale NAKs the event; its redelivery fetches
// again and is recorded, and the ledger keeps the voiding.
func TestStaleDetailFetchedAgain(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		ctx := context.Background()
		id := h.AddContract(lifecycle.Signing)
		h.CompleteInFake(id)
		b := newBlockingAPI(h.Config.APIs["default"])
		h.Config.APIs = map[string]dispatcher.API{"default": b}
		h.Start()
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
		<-b.entered // the dispatcher's fetch begins; it will be answered COMPLETE
		for t0 := confirm.FetchTime(time.Now()); !confirm.FetchTime(time.Now()).After(t0); {
			time.Sleep(time.Millisecond)
		}
		if err := h.Fake.SetStatus(id, lifecycle.Invaliding); err != nil {
			t.Fatal(err)
		}
		// Another applier fetches INVALIDING and commits it meanwhile.
		if _, err := h.Ledger.ApplyContract(ctx, otherApplier(t, b.API, id, "INVALIDING")); err != nil {
			t.Fatal(err)
		}
		// The platform refuses the voiding before the held fetch is
		// answered: a COMPLETE that overlaps the row's fetch.
		if err := h.Fake.SetStatus(id, lifecycle.Complete); err != nil {
			t.Fatal(err)
		}
		close(b.release)
		stagetest.Eventually(t, "the event applied after a new fetch", func() bool {
			evs, err := l.Events(ctx, "default", id)
			return err == nil && len(evs) == 2
		})
		if c := h.Contract(id); c.Status != lifecycle.Complete {
			t.Fatalf("ledger %s; the fetch made again after the stale one is answered COMPLETE", c.Status)
		}
		if n := failedCount(t, h, "stale_fetch"); n < 1 {
			t.Fatalf("stale_fetch failures = %v, want the first attempt counted", n)
		}
	})
}

// TestVoidedTwiceKeepsEveryFact: COMPLETE → INVALIDING → COMPLETE →
// INVALIDING. The second INVALIDING from COMPLETE had the same fact id as
// the first (state and previous status), so the outbox dropped it.
func TestVoidedTwiceKeepsEveryFact(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		id := h.AddContract(lifecycle.Signing)
		h.CompleteInFake(id)
		h.Start()
		steps := []string{lifecycle.Complete, lifecycle.Invaliding, lifecycle.Complete, lifecycle.Invaliding}
		for i, status := range steps {
			if err := h.Fake.SetStatus(id, status); err != nil {
				t.Fatal(err)
			}
			h.PublishContract(id, fmt.Sprintf("T%d", i), status)
			stagetest.Eventually(t, status, func() bool { c := h.Contract(id); return c != nil && c.Status == status })
		}
		var mine []events.Fact
		stagetest.Eventually(t, "four status facts published", func() bool {
			mine = mine[:0]
			n := 0
			for _, f := range h.Facts() {
				if f.ContractID == id {
					mine = append(mine, f)
					if f.Kind == events.FactContractStatus {
						n++
					}
				}
			}
			return n >= len(steps)
		})
		slices.SortFunc(mine, func(a, b events.Fact) int { return cmp.Compare(a.Seq, b.Seq) })
		var got []string
		ids := map[string]bool{}
		for i, f := range mine {
			if f.Seq != int64(i+1) {
				t.Fatalf("fact %d has seq %d; want 1..n: %+v", i, f.Seq, mine)
			}
			if ids[f.ID] {
				t.Fatalf("fact id %s twice", f.ID)
			}
			ids[f.ID] = true
			if f.Kind == events.FactContractStatus {
				got = append(got, f.Status+"<-"+f.PreviousStatus)
			}
		}
		want := []string{"COMPLETE<-", "INVALIDING<-COMPLETE", "COMPLETE<-INVALIDING", "INVALIDING<-COMPLETE"}
		if !slices.Equal(got, want) {
			t.Fatalf("status facts by seq %v, want %v", got, want)
		}
	})
}

// failedCount reads qyshook_dispatcher_events_failed_total{reason}.
func failedCount(t *testing.T, h *stagetest.Harness, reason string) float64 {
	t.Helper()
	mfs, err := h.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "qyshook_dispatcher_events_failed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "reason" && lp.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
