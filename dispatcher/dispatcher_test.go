package dispatcher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/store"
)

// forEachDB runs f on SQLite, and on PostgreSQL when configured.
func forEachDB(t *testing.T, f func(t *testing.T, l store.Ledger)) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) { f(t, testdb.Open(t, kind)) })
	}
}

func TestConfirmsThroughAPIAndArchives(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := newHarness(t, l)
		id := h.addContract(qys.StatusSigning)
		h.completeInFake(id)
		// The callbacks claim SIGNING then COMPLETE; the API says COMPLETE.
		h.publishContract(id, "SEAL", qys.StatusSigning)
		h.publishContract(id, "COMPLETE", qys.StatusComplete)
		h.start()

		eventually(t, "documents archived", func() bool {
			c := h.contract(id)
			if c == nil || c.Status != qys.StatusComplete || len(c.Documents) != 2 {
				return false
			}
			for _, d := range c.Documents {
				if d.SHA256 == "" {
					return false
				}
			}
			return true
		})
		c := h.contract(id)
		if !c.Confirmed || c.CompletedAt == nil || len(c.Signatories) != 2 {
			t.Fatalf("contract row: confirmed=%v completed=%v signatories=%d", c.Confirmed, c.CompletedAt, len(c.Signatories))
		}
		for _, d := range c.Documents {
			if want := h.fake.DocumentSHA256(d.ID); d.SHA256 != want {
				t.Fatalf("document %s sha256 %s, want %s", d.ID, d.SHA256, want)
			}
			if filepath.IsAbs(d.Path) || strings.Contains(d.Path, "..") {
				t.Fatalf("document path %q not relative to the data dir", d.Path)
			}
			st, err := os.Stat(filepath.Join(h.dataDir, d.Path))
			if err != nil || st.Size() != d.Size {
				t.Fatalf("archived file %s: %v (size %d, want %d)", d.Path, err, st.Size(), d.Size)
			}
		}
		evs, err := l.Events(context.Background(), "default", id)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %d, %v", len(evs), err)
		}
		eventually(t, "facts published", func() bool { return len(h.facts()) == 3 })
		kinds := map[string]int{}
		for _, f := range h.facts() {
			kinds[f.Kind+":"+f.Status]++
			if f.ContractID != id || !f.Confirmed {
				t.Fatalf("fact %+v", f)
			}
		}
		if kinds["contract.status:COMPLETE"] != 1 || kinds["documents.archived:"] != 2 {
			t.Fatalf("facts by kind: %v", kinds)
		}
	})
}

func TestCoalescesDetailFetches(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	id := h.addContract(qys.StatusSigning)
	for i := 0; i < 12; i++ {
		h.publishContract(id, fmt.Sprintf("TYPE_%d", i), qys.StatusSigning)
	}
	h.start()
	eventually(t, "12 events applied", func() bool {
		evs, _ := h.ledger.Events(context.Background(), "default", id)
		return len(evs) == 12
	})
	if n := h.fake.DetailCalls(id); n != 1 {
		t.Fatalf("detail fetched %d times for 12 events in one batch, want 1", n)
	}
}

func TestUnconfirmedFallbackNeverRegresses(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite), withoutAPI())
	h.publishContract("42", "COMPLETE", qys.StatusComplete)
	h.publishContract("42", "SEAL", qys.StatusSigning) // late, out of order
	h.start()
	eventually(t, "both events applied", func() bool {
		evs, _ := h.ledger.Events(context.Background(), "default", "42")
		return len(evs) == 2
	})
	c := h.contract("42")
	if c.Status != qys.StatusComplete || c.Confirmed {
		t.Fatalf("status %s confirmed %v; want COMPLETE unconfirmed", c.Status, c.Confirmed)
	}
	eventually(t, "one fact", func() bool { return len(h.facts()) == 1 })
	if f := h.facts()[0]; f.Confirmed || f.Status != qys.StatusComplete {
		t.Fatalf("fact %+v", f)
	}
}

func TestTransientAPIFailuresAreRetried(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	id := h.addContract(qys.StatusSigning)
	h.completeInFake(id)
	h.fake.FailNext(6, 503)         // more than the client's own 3 retries
	h.fake.TruncateNextDownloads(1) // and one cut download
	h.publishContract(id, "COMPLETE", qys.StatusComplete)
	h.start()
	eventually(t, "contract complete with documents", func() bool {
		c := h.contract(id)
		return c != nil && c.Status == qys.StatusComplete && c.Documents[0].SHA256 != "" && c.Documents[1].SHA256 != ""
	})
	for _, d := range h.contract(id).Documents {
		if d.SHA256 != h.fake.DocumentSHA256(d.ID) {
			t.Fatalf("document %s: sha256 differs after a truncated download", d.ID)
		}
	}
	if n := testutil.CollectAndCount(h.reg, "qyshook_dispatcher_events_failed_total"); n == 0 {
		t.Fatal("no failure was counted: the faults were not exercised")
	}
	if dl, _ := h.ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("transient failures dead-lettered: %+v", dl)
	}
}

func TestPoisonedEventsGoToDeadLetters(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	good := h.addContract(qys.StatusSigning)
	h.publishContract(good, "SEAL", qys.StatusSigning)
	h.publishRaw(h.nats.Names.CallbackSubject("default", events.KindContract, "SEAL"), []byte("\x00garbage{"), "poison-1")
	h.publishContract("999999", "SEAL", qys.StatusSigning) // unknown to the API
	exhausted := h.addContract(qys.StatusSigning)
	h.start()
	eventually(t, "good event applied", func() bool { return h.contract(good) != nil })
	eventually(t, "two dead letters", func() bool {
		dl, _ := h.ledger.DeadLetters(context.Background(), 10)
		return len(dl) == 2
	})
	dls, _ := h.ledger.DeadLetters(context.Background(), 10)
	reasons := map[string]bool{}
	for _, d := range dls {
		reasons[strings.SplitN(d.Reason, ":", 2)[0]] = true
		if d.StreamSeq == 0 || len(d.Payload) == 0 {
			t.Fatalf("dead letter lacks stream seq or payload: %+v", d)
		}
	}
	if !reasons["undecodable_event"] || !reasons["contract_not_found"] {
		t.Fatalf("dead-letter reasons %v", reasons)
	}
	dlq := h.streamMessages(h.nats.Names.DLQStream())
	if len(dlq) != 2 {
		t.Fatalf("QYS_DLQ holds %d messages, want 2", len(dlq))
	}
	for _, m := range dlq {
		if m.Header.Get(dispatcher.HeaderReason) == "" || m.Header.Get(dispatcher.HeaderStreamSeq) == "" {
			t.Fatalf("dead letter headers %v", m.Header)
		}
	}

	// Exhausted retries: the API fails for longer than MaxDeliver allows.
	h.fake.FailNext(1000, 500)
	h.publishContract(exhausted, "SEAL", qys.StatusSigning)
	eventually(t, "exhausted event dead-lettered", func() bool {
		dl, _ := h.ledger.DeadLetters(context.Background(), 10)
		return len(dl) == 3
	})
	dls, _ = h.ledger.DeadLetters(context.Background(), 10)
	found := false
	for _, d := range dls {
		if strings.HasPrefix(d.Reason, "retries_exhausted") && d.Deliveries >= 5 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no retries_exhausted dead letter after MaxDeliver: %+v", dls)
	}
}

func TestCertifications(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	for _, kind := range []string{events.KindAuthCompany, events.KindAuthPersonal} {
		env := events.Envelope{
			Schema: events.SchemaCallbackV1, Tenant: "default", Kind: kind, Type: "AUTH",
			Auth:       &events.Auth{RequestID: "req-" + kind, Status: "1", Success: true, Mode: "FACE", Name: "张三"},
			ReceivedAt: time.Now().UTC(), Format: "A", Source: events.SourceCallback, Payload: json.RawMessage(`{}`),
		}
		env.ID = events.EventID("default", kind, "req-"+kind, "AUTH", "1", "")
		h.publishEnvelope(env)
	}
	h.start()
	eventually(t, "two certifications", func() bool {
		cs, err := h.ledger.Certifications(context.Background(), "default", 10)
		return err == nil && len(cs) == 2
	})
	cs, _ := h.ledger.Certifications(context.Background(), "default", 10)
	for _, c := range cs {
		if !c.Success || c.Status != "1" {
			t.Fatalf("certification %+v", c)
		}
	}
}

func TestReconcilerFindsUndeliveredChanges(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	// Two contracts whose callbacks never arrived: one completed, one rejected.
	done := h.addContract(qys.StatusSigning)
	h.completeInFake(done)
	rejected := h.addContract(qys.StatusSigning)
	if err := h.fake.SetStatus(rejected, qys.StatusRejected); err != nil {
		t.Fatal(err)
	}
	h.start()
	r := reconcile.New(reconcile.Options{
		JS: h.nats.JS, Names: h.nats.Names, Ledger: h.ledger, APIs: h.reconcileAPIs(),
	})
	rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Triggered != 2 {
		t.Fatalf("report %+v, want 2 triggers", rep)
	}
	eventually(t, "ledger matches the API", func() bool {
		a, b := h.contract(done), h.contract(rejected)
		return a != nil && b != nil && a.Status == qys.StatusComplete && b.Status == qys.StatusRejected &&
			a.Documents[0].SHA256 != "" && a.Documents[1].SHA256 != ""
	})
	evs, _ := h.ledger.Events(context.Background(), "default", done)
	if len(evs) != 1 || evs[0].Source != events.SourceReconcile || evs[0].Type != reconcile.TypeReconcile {
		t.Fatalf("event history does not mark the reconciliation: %+v", evs)
	}
	// A second pass finds nothing new.
	rep, err = r.RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil || rep.Triggered != 0 {
		t.Fatalf("second pass: %+v, %v", rep, err)
	}
}

func TestLagAndDeadLetterGauges(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	id := h.addContract(qys.StatusSigning)
	h.publishContract(id, "SEAL", qys.StatusSigning)
	h.publishRaw(h.nats.Names.CallbackSubject("default", events.KindContract, "SEAL"), []byte("garbage"), "poison")
	h.start()
	eventually(t, "dead-letter depth 1", func() bool { return h.gauge("qyshook_dlq_depth") == 1 })
	eventually(t, "no lag", func() bool {
		return h.gauge("qyshook_dispatcher_pending_events") == 0 && h.gauge("qyshook_dispatcher_unacked_events") == 0
	})
}

func TestArchiveBundle(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	h.cfg.ArchiveBundle = true
	id := h.addContract(qys.StatusSigning)
	h.completeInFake(id)
	h.publishContract(id, "COMPLETE", qys.StatusComplete)
	h.start()
	eventually(t, "bundle and documents archived", func() bool {
		c := h.contract(id)
		if c == nil || len(c.Documents) != 3 {
			return false
		}
		for _, d := range c.Documents {
			if d.SHA256 == "" || d.ID == id+".bundle" && !strings.HasSuffix(d.Path, ".zip") {
				return false
			}
		}
		return true
	})
	c := h.contract(id)
	if len(c.Documents) != 3 {
		t.Fatalf("%d documents, want the two PDFs and the bundle", len(c.Documents))
	}
	for _, d := range c.Documents {
		st, err := os.Stat(filepath.Join(h.dataDir, d.Path))
		if err != nil || st.Size() != d.Size || d.Size == 0 {
			t.Fatalf("document %s file: %v", d.ID, err)
		}
	}
}

// TestReconcilerRetriesFailedDocumentsDaily: downloads that keep failing
// end the document failed (the callback is acked, nothing dead-lettered);
// the reconciler queues it again once the failure is a day old, and not
// again the same day.
func TestReconcilerRetriesFailedDocumentsDaily(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	h.arch.MaxAttempts = 2
	id := h.addContract(qys.StatusSigning)
	h.completeInFake(id)
	h.fake.TruncateNextDownloads(1000) // every download fails
	h.publishContract(id, "COMPLETE", qys.StatusComplete)
	h.start()
	eventually(t, "both documents failed after their attempts", func() bool {
		c := h.contract(id)
		return c != nil && len(c.Documents) == 2 && c.Documents[0].ArchiveState == store.ArchiveFailed &&
			c.Documents[1].ArchiveState == store.ArchiveFailed
	})
	c := h.contract(id)
	if c.Status != qys.StatusComplete || !strings.Contains(c.Documents[0].LastError, "attempts") {
		t.Fatalf("want COMPLETE with failed documents and their reason, got %s %+v", c.Status, c.Documents)
	}
	if dl, _ := h.ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("failed downloads dead-lettered the contract: %+v", dl)
	}
	h.fake.TruncateNextDownloads(0) // the platform serves the files again
	newReconciler := func(now time.Time) *reconcile.Reconciler {
		return reconcile.New(reconcile.Options{JS: h.nats.JS, Names: h.nats.Names,
			Ledger: h.ledger, APIs: h.reconcileAPIs(), Now: func() time.Time { return now }})
	}
	// The same day, the failure is left alone.
	if rep, err := newReconciler(time.Now()).RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.Requeued != 0 {
		t.Fatalf("pass the day of the failure: %+v, %v", rep, err)
	}
	tomorrow := time.Now().Add(25 * time.Hour)
	rep, err := newReconciler(tomorrow).RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil || rep.Requeued != 2 {
		t.Fatalf("reconcile a day later: %+v, %v", rep, err)
	}
	eventually(t, "documents archived after the requeue", func() bool {
		c := h.contract(id)
		return c.Documents[0].SHA256 != "" && c.Documents[1].SHA256 != ""
	})
	// Another pass finds nothing to requeue.
	if rep, err := newReconciler(tomorrow).RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.Requeued != 0 || rep.Triggered != 0 {
		t.Fatalf("second pass: %+v, %v", rep, err)
	}
}
