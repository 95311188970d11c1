package dispatcher_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

func noticeEnvelope(id, digest string, source string) events.Envelope {
	return events.Envelope{
		Schema: events.SchemaCallbackV1, ID: id, Tenant: "default", Kind: events.KindPhysicalSeal, Type: "COMPLETE",
		Notice: &events.Notice{Key: "b-1", Digest: digest}, ReceivedAt: time.Now().UTC(), Format: "A", Source: source,
		Payload: json.RawMessage(`{"businessId":"b-1","status":"COMPLETE"}`),
	}
}

// TestNoticeRecordedOnceWithOneFact: a notice redelivered, and the same
// notice replayed under its own event id, is one unconfirmed fact; the
// replay is a second event row (replays are recorded), never a second
// fact.
func TestNoticeRecordedOnceWithOneFact(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	h := stagetest.New(t, l)
	h.Start()
	h.PublishEnvelope(noticeEnvelope("qys-notice-1", "d1", events.SourceCallback))
	h.PublishRaw(h.NATS.Names.CallbackSubject("default", events.KindPhysicalSeal, "COMPLETE"),
		mustEncode(t, noticeEnvelope("qys-notice-1", "d1", events.SourceCallback)), "") // a redelivery past the duplicate window
	h.PublishEnvelope(noticeEnvelope("qys-notice-1-replay", "d1", events.SourceReplay))
	h.PublishEnvelope(noticeEnvelope("qys-notice-2", "d2", events.SourceCallback))
	stagetest.Eventually(t, "two notice facts and three notice events", func() bool {
		evs, _ := l.Events(context.Background(), "default", "")
		return len(evs) == 3 && len(h.Facts()) == 2
	})
	time.Sleep(200 * time.Millisecond) // nothing more comes
	facts := h.Facts()
	if len(facts) != 2 {
		t.Fatalf("%d facts, want 2", len(facts))
	}
	for _, f := range facts {
		if f.Kind != events.FactKindNotice || f.Confirmed || f.Notice == nil || f.Notice.Key != "b-1" || f.Status != "COMPLETE" {
			t.Fatalf("fact %+v", f)
		}
	}
	if dl, _ := l.DeadLetters(context.Background(), 0); len(dl) != 0 {
		t.Fatalf("%d dead letters", len(dl))
	}
}

// noNotices is a ledger that cannot record notices.
type noNotices struct{ store.Ledger }

// TestNoticeWithoutNoticeLedgerIsDeadLettered: a ledger without
// store.NoticeLedger dead-letters the notice (kept for a retry), never
// drops it.
func TestNoticeWithoutNoticeLedgerIsDeadLettered(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	h := stagetest.New(t, noNotices{l})
	h.Start()
	h.PublishEnvelope(noticeEnvelope("qys-notice-3", "d3", events.SourceCallback))
	stagetest.Eventually(t, "a dead letter", func() bool {
		dl, _ := l.DeadLetters(context.Background(), 0)
		return len(dl) == 1
	})
}

func mustEncode(t *testing.T, env events.Envelope) []byte {
	t.Helper()
	b, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
