package dispatcher_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestRetryResolvesDeadLetter: a republished event naming a dead letter
// (events.HeaderDeadLetterID) resolves it in settle once it applies: the
// row and its QYS_DLQ message go, so qyshook_dlq_depth returns to zero. A
// second delivery naming the same dead letter is harmless.
func TestRetryResolvesDeadLetter(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	const id = "3121362688600000099"
	env := h.PublishContract(id, "SIGNED", lifecycle.Signing) // unknown to the API: permanent
	h.Start()
	ctx := context.Background()
	stagetest.Eventually(t, "dead-lettered", func() bool {
		rows, _ := h.Ledger.DeadLetters(ctx, 0)
		return len(rows) == 1 && h.Gauge("qyshook_dlq_depth") == 1
	})
	rows, err := h.Ledger.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.Fake.AddContract(qystest.ContractSpec{ID: id, Subject: "采购合同", Status: lifecycle.Signing})

	for i, job := range []string{"j1", "j2"} {
		retry := env
		retry.ID, retry.Source = events.ReplayEventID(env.ID, job), events.SourceReplay
		msg := nats.NewMsg(h.NATS.Names.CallbackSubject("default", events.KindContract, "SIGNED"))
		msg.Data = mustEncodeEnv(t, retry)
		msg.Header.Set(nats.MsgIdHdr, retry.ID)
		msg.Header.Set(events.HeaderReplay, job)
		msg.Header.Set(events.HeaderDeadLetterID, strconv.FormatInt(rows[0].ID, 10))
		if _, err := h.NATS.JS.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
		stagetest.Eventually(t, "retry "+job+" applied and the dead letter resolved", func() bool {
			c := h.Contract(id)
			evs, _ := h.Ledger.Events(ctx, "default", id)
			left, _ := h.Ledger.DeadLetters(ctx, 0)
			return c != nil && c.Confirmed && len(evs) == i+1 && len(left) == 0 &&
				h.Gauge("qyshook_dlq_depth") == 0 && h.Gauge("qyshook_dispatcher_unacked_events") == 0
		})
	}
}

func mustEncodeEnv(t *testing.T, env events.Envelope) []byte {
	t.Helper()
	b, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRetryFailingAgainLinksPredecessor: a retry of a dead letter that is
// dead-lettered again replaces it under a new id that names it (RetryOf),
// counts the retries and keeps when the event first failed (before
// migration 0014 nothing linked the two).
func TestRetryFailingAgainLinksPredecessor(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	const id = "3121362688600000098"
	env := h.PublishContract(id, "SIGNED", lifecycle.Signing) // unknown to the API: permanent
	h.Start()
	ctx := context.Background()
	stagetest.Eventually(t, "dead-lettered", func() bool {
		rows, _ := h.Ledger.DeadLetters(ctx, 0)
		return len(rows) == 1
	})
	rows, err := h.Ledger.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	first := rows[0]
	retry := env
	retry.ID, retry.Source = events.ReplayEventID(env.ID, "j1"), events.SourceReplay
	msg := nats.NewMsg(h.NATS.Names.CallbackSubject("default", events.KindContract, "SIGNED"))
	msg.Data = mustEncodeEnv(t, retry)
	msg.Header.Set(nats.MsgIdHdr, retry.ID)
	msg.Header.Set(events.HeaderReplay, "j1")
	msg.Header.Set(events.HeaderDeadLetterID, strconv.FormatInt(first.ID, 10))
	if _, err := h.NATS.JS.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	stagetest.Eventually(t, "the retry dead-lettered again, replacing the first", func() bool {
		left, _ := h.Ledger.DeadLetters(ctx, 0)
		return len(left) == 1 && left[0].ID != first.ID
	})
	left, _ := h.Ledger.DeadLetters(ctx, 0)
	got := left[0]
	if got.RetryOf != first.ID || got.Retries != 1 || got.FirstFailedAt == nil || !got.FirstFailedAt.Equal(first.CreatedAt) {
		t.Errorf("retried-again dead letter: retry_of %d, retries %d, first failed %v; want %d, 1, %v",
			got.RetryOf, got.Retries, got.FirstFailedAt, first.ID, first.CreatedAt)
	}
}
