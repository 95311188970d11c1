package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/store"
)

// TestReconcilerPollsPendingCertifications: a certification left in
// progress (its success callback never arrived) is polled by the
// reconciler and ends confirmed in the ledger; one the API does not know
// stays as recorded; a second pass finds nothing.
func TestReconcilerPollsPendingCertifications(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-4", Mode: "FACE", Status: qys.AuthStatusInProgress})
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, "pe-4", qys.AuthStatusInProgress))
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, "ghost-4", qys.AuthStatusInProgress))
	h.Start()
	stagetest.Eventually(t, "recorded", func() bool { return h.Certification("pe-4") != nil && h.Certification("ghost-4") != nil })
	// The person passes; 契约锁's callback is lost.
	h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-4", Mode: "FACE", Status: qys.AuthStatusSuccess})
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	r := mustReconciler(t, reconcile.Options{JS: h.NATS.JS, Names: h.NATS.Names, Ledger: h.Ledger, APIs: h.ReconcileAPIs(), Now: later})
	rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Triggered != 1 {
		t.Fatalf("report %+v, want 1 trigger", rep)
	}
	stagetest.Eventually(t, "success confirmed", func() bool {
		c := h.Certification("pe-4")
		return c != nil && c.Success && c.Confirmed && !c.Pending
	})
	evs := h.StreamMessages(h.NATS.Names.CallbacksStream())
	last, err := events.Decode(evs[len(evs)-1].Data)
	if err != nil || last.Type != reconcile.TypeReconcile || last.Source != events.SourceReconcile || last.Auth.RequestID != "pe-4" {
		t.Fatalf("trigger %+v, %v", last, err)
	}
	stagetest.Eventually(t, "settled", h.Settled)
	if rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.Triggered != 0 {
		t.Fatalf("second pass: %+v, %v", rep, err)
	}
	if c := h.Certification("ghost-4"); c.Confirmed || c.Status != qys.AuthStatusInProgress || c.Reason != store.CertReasonNotFound {
		t.Fatalf("unknown certification changed: %+v", c)
	}
	// The one the API does not know is reported, by id, on every pass
	// (it was skipped silently and counted with the contracts).
	if rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.CertificationsUnconfirmed != 1 ||
		len(rep.UnconfirmedCertifications) != 1 || rep.UnconfirmedCertifications[0] != "ghost-4" {
		t.Fatalf("third pass: %+v, %v; want ghost-4 reported unconfirmed", rep, err)
	}
}

// TestPendingCertificationsDoNotStarve: a page of certifications that stay
// pending for good (here one the API does not know) no longer holds back
// a newer one: each pass reads the page after the last, so the newer
// success is found. Before, every pass read the same oldest page.
func TestPendingCertificationsDoNotStarve(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, "ghost-1", qys.AuthStatusInProgress))
	h.Start()
	stagetest.Eventually(t, "ghost", func() bool { return h.Certification("ghost-1") != nil })
	time.Sleep(20 * time.Millisecond) // the newer row is updated later
	h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-9", Mode: "FACE", Status: qys.AuthStatusInProgress})
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, "pe-9", qys.AuthStatusInProgress))
	stagetest.Eventually(t, "pe-9", func() bool { return h.Certification("pe-9") != nil })
	h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-9", Mode: "FACE", Status: qys.AuthStatusSuccess})
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	r := mustReconciler(t, reconcile.Options{JS: h.NATS.JS, Names: h.NATS.Names, Ledger: h.Ledger,
		APIs: h.ReconcileAPIs(), Now: later, StuckPage: 1})
	for range 3 {
		if _, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	stagetest.Eventually(t, "pe-9 confirmed", func() bool {
		c := h.Certification("pe-9")
		return c != nil && c.Confirmed && c.Success
	})
	// The unknown one keeps its state, flagged not_found.
	if g := h.Certification("ghost-1"); g.Confirmed || g.Reason != "not_found" {
		t.Fatalf("ghost-1 = %+v", g)
	}
}
