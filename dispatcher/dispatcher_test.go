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
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
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
		h := stagetest.New(t, l)
		id := h.AddContract(lifecycle.Signing)
		h.CompleteInFake(id)
		// The callbacks claim SIGNING then COMPLETE; the API says COMPLETE.
		h.PublishContract(id, "SEAL", lifecycle.Signing)
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
		h.Start()

		stagetest.Eventually(t, "documents archived", func() bool {
			c := h.Contract(id)
			if c == nil || c.Status != lifecycle.Complete || len(c.Documents) != 2 {
				return false
			}
			for _, d := range c.Documents {
				if d.SHA256 == "" {
					return false
				}
			}
			return true
		})
		c := h.Contract(id)
		if !c.Confirmed || c.CompletedAt == nil || len(c.Signatories) != 2 {
			t.Fatalf("contract row: confirmed=%v completed=%v signatories=%d", c.Confirmed, c.CompletedAt, len(c.Signatories))
		}
		for _, d := range c.Documents {
			if want := h.Fake.DocumentSHA256(d.ID); d.SHA256 != want {
				t.Fatalf("document %s sha256 %s, want %s", d.ID, d.SHA256, want)
			}
			if filepath.IsAbs(d.Path) || strings.Contains(d.Path, "..") {
				t.Fatalf("document path %q not relative to the data dir", d.Path)
			}
			st, err := os.Stat(filepath.Join(h.DataDir, d.Path))
			if err != nil || st.Size() != d.Size {
				t.Fatalf("archived file %s: %v (size %d, want %d)", d.Path, err, st.Size(), d.Size)
			}
		}
		evs, err := l.Events(context.Background(), "default", id)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %d, %v", len(evs), err)
		}
		// CompleteInFake completes the contract without signing its
		// documents (an unsigned PDF, synthetic bytes): the cross-check
		// says so (document_invalid, one fact each) beside the status and
		// the two archived documents.
		stagetest.Eventually(t, "facts published", func() bool { return len(h.Facts()) == 5 })
		kinds := map[string]int{}
		for _, f := range h.Facts() {
			kinds[f.Kind+":"+f.Status]++
			if f.Kind == events.FactKindDiscrepancy && (f.Discrepancy == nil || f.Discrepancy.Kind != "document_invalid") {
				t.Fatalf("discrepancy fact %+v", f.Discrepancy)
			}
			if f.ContractID != id || !f.Confirmed {
				t.Fatalf("fact %+v", f)
			}
		}
		if kinds["contract.status:COMPLETE"] != 1 || kinds["documents.archived:"] != 2 || kinds["discrepancy:"] != 2 {
			t.Fatalf("facts by kind: %v", kinds)
		}
	})
}

func TestCoalescesDetailFetches(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	id := h.AddContract(lifecycle.Signing)
	for i := 0; i < 12; i++ {
		h.PublishContract(id, fmt.Sprintf("TYPE_%d", i), lifecycle.Signing)
	}
	h.Start()
	stagetest.Eventually(t, "12 events applied", func() bool {
		evs, _ := h.Ledger.Events(context.Background(), "default", id)
		return len(evs) == 12
	})
	if n := h.Fake.DetailCalls(id); n != 1 {
		t.Fatalf("detail fetched %d times for 12 events in one batch, want 1", n)
	}
}

func TestUnconfirmedFallbackNeverRegresses(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite), stagetest.WithoutAPI())
	h.PublishContract("42", "COMPLETE", lifecycle.Complete)
	h.PublishContract("42", "SEAL", lifecycle.Signing) // late, out of order
	h.Start()
	stagetest.Eventually(t, "both events applied", func() bool {
		evs, _ := h.Ledger.Events(context.Background(), "default", "42")
		return len(evs) == 2
	})
	c := h.Contract("42")
	if c.Status != lifecycle.Complete || c.Confirmed {
		t.Fatalf("status %s confirmed %v; want COMPLETE unconfirmed", c.Status, c.Confirmed)
	}
	stagetest.Eventually(t, "one fact", func() bool { return len(h.Facts()) == 1 })
	if f := h.Facts()[0]; f.Confirmed || f.Status != lifecycle.Complete {
		t.Fatalf("fact %+v", f)
	}
}

func TestTransientAPIFailuresAreRetried(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	id := h.AddContract(lifecycle.Signing)
	h.CompleteInFake(id)
	h.Fake.FailNext(6, 503)         // more than the client's own 3 retries
	h.Fake.TruncateNextDownloads(1) // and one cut download
	h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "contract complete with documents", func() bool {
		c := h.Contract(id)
		return c != nil && c.Status == lifecycle.Complete && c.Documents[0].SHA256 != "" && c.Documents[1].SHA256 != ""
	})
	for _, d := range h.Contract(id).Documents {
		if d.SHA256 != h.Fake.DocumentSHA256(d.ID) {
			t.Fatalf("document %s: sha256 differs after a truncated download", d.ID)
		}
	}
	if n := testutil.CollectAndCount(h.Registry, "qyshook_dispatcher_events_failed_total"); n == 0 {
		t.Fatal("no failure was counted: the faults were not exercised")
	}
	if dl, _ := h.Ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("transient failures dead-lettered: %+v", dl)
	}
}

func TestPoisonedEventsGoToDeadLetters(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	good := h.AddContract(lifecycle.Signing)
	h.PublishContract(good, "SEAL", lifecycle.Signing)
	h.PublishRaw(h.NATS.Names.CallbackSubject("default", events.KindContract, "SEAL"), []byte("\x00garbage{"), "poison-1")
	h.PublishContract("999999", "SEAL", lifecycle.Signing) // unknown to the API
	exhausted := h.AddContract(lifecycle.Signing)
	h.Start()
	stagetest.Eventually(t, "good event applied", func() bool { return h.Contract(good) != nil })
	stagetest.Eventually(t, "two dead letters", func() bool {
		dl, _ := h.Ledger.DeadLetters(context.Background(), 10)
		return len(dl) == 2
	})
	dls, _ := h.Ledger.DeadLetters(context.Background(), 10)
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
	dlq := h.StreamMessages(h.NATS.Names.DLQStream())
	if len(dlq) != 2 {
		t.Fatalf("QYS_DLQ holds %d messages, want 2", len(dlq))
	}
	for _, m := range dlq {
		if m.Header.Get(dispatcher.HeaderReason) == "" || m.Header.Get(dispatcher.HeaderStreamSeq) == "" {
			t.Fatalf("dead letter headers %v", m.Header)
		}
	}

	// Exhausted retries: the API fails for longer than MaxDeliver allows.
	h.Fake.FailNext(1000, 500)
	h.PublishContract(exhausted, "SEAL", lifecycle.Signing)
	stagetest.Eventually(t, "exhausted event dead-lettered", func() bool {
		dl, _ := h.Ledger.DeadLetters(context.Background(), 10)
		return len(dl) == 3
	})
	dls, _ = h.Ledger.DeadLetters(context.Background(), 10)
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
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	for _, kind := range []string{events.KindAuthCompany, events.KindAuthPersonal} {
		env := events.Envelope{
			Schema: events.SchemaCallbackV1, Tenant: "default", Kind: kind, Type: "AUTH",
			Auth:       &events.Auth{RequestID: "req-" + kind, Status: "1", Success: true, Mode: "FACE", Name: "张三"},
			ReceivedAt: time.Now().UTC(), Format: "A", Source: events.SourceCallback, Payload: json.RawMessage(`{}`),
		}
		env.ID = events.EventID("default", kind, "req-"+kind, "AUTH", "1", "")
		h.PublishEnvelope(env)
	}
	h.Start()
	stagetest.Eventually(t, "two certifications", func() bool {
		cs, err := h.Ledger.Certifications(context.Background(), "default", 10)
		return err == nil && len(cs) == 2
	})
	cs, _ := h.Ledger.Certifications(context.Background(), "default", 10)
	for _, c := range cs {
		if !c.Success || c.Status != "1" {
			t.Fatalf("certification %+v", c)
		}
	}
}

func TestLagAndDeadLetterGauges(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	id := h.AddContract(lifecycle.Signing)
	h.PublishContract(id, "SEAL", lifecycle.Signing)
	h.PublishRaw(h.NATS.Names.CallbackSubject("default", events.KindContract, "SEAL"), []byte("garbage"), "poison")
	h.Start()
	stagetest.Eventually(t, "dead-letter depth 1", func() bool { return h.Gauge("qyshook_dlq_depth") == 1 })
	stagetest.Eventually(t, "no lag", func() bool {
		return h.Gauge("qyshook_dispatcher_pending_events") == 0 && h.Gauge("qyshook_dispatcher_unacked_events") == 0
	})
}

func TestArchiveBundle(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Config.ArchiveBundle = true
	id := h.AddContract(lifecycle.Signing)
	h.CompleteInFake(id)
	h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "bundle and documents archived", func() bool {
		c := h.Contract(id)
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
	c := h.Contract(id)
	if len(c.Documents) != 3 {
		t.Fatalf("%d documents, want the two PDFs and the bundle", len(c.Documents))
	}
	for _, d := range c.Documents {
		st, err := os.Stat(filepath.Join(h.DataDir, d.Path))
		if err != nil || st.Size() != d.Size || d.Size == 0 {
			t.Fatalf("document %s file: %v", d.ID, err)
		}
	}
}
