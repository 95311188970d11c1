package dispatcher_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestUnstorableEnvelopeIsDeadLettered (issue 11): an envelope holding a
// value the ledger cannot store (a NUL byte in the contract id, which
// PostgreSQL refuses in text with SQLSTATE 22021) reached the dispatcher
// past the receiver (replay, old stream contents). It used to fail the
// ledger insert and then the dead-letter insert (the reason quoted the
// id), and was redelivered for ever, invisible in `qyshook dlq list`. It
// must be dead-lettered at its first delivery, on every ledger, with the
// offending bytes escaped in the row's text and kept verbatim in its
// payload.
func TestUnstorableEnvelopeIsDeadLettered(t *testing.T) {
	cases := []struct {
		name   string
		opts   []stagetest.Option
		modify func(*events.Envelope)
	}{
		{name: "NULInContractIdConfirmed", modify: func(e *events.Envelope) { e.ContractID = "3121\x00362688" }},
		{name: "NULInContractIdUnconfirmed", opts: []stagetest.Option{stagetest.WithoutAPI()},
			modify: func(e *events.Envelope) { e.ContractID = "3121\x00362689" }},
		{name: "NULInCallbackType", modify: func(e *events.Envelope) { e.Type = "SEAL\x00" }},
		{name: "NULInActorName", opts: []stagetest.Option{stagetest.WithoutAPI()},
			modify: func(e *events.Envelope) { e.Actor = &events.Actor{TenantName: "张\x00三"} }},
		{name: "InvalidUTF8InPayload", opts: []stagetest.Option{stagetest.WithoutAPI()},
			modify: func(e *events.Envelope) { e.Payload = []byte("{\"contractId\":\"\xff\xfe\"}") }},
	}
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := stagetest.New(t, l, tc.opts...)
				good := h.AddContract(lifecycle.Signing)
				env := events.Envelope{
					Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: "SEAL",
					ContractID: good, ContractStatus: lifecycle.Signing, Format: "A", Source: events.SourceCallback,
					Payload: []byte(`{"contractId":"x"}`),
				}
				tc.modify(&env)
				env.ID = events.EventID("default", env.Kind, env.ContractID, env.Type, env.ContractStatus, "")
				data := mustEncodeEnv(t, env)
				h.PublishRaw(h.NATS.Names.CallbackSubject(env.Tenant, env.Kind, "SEAL"), data, env.ID)
				h.Start()
				ctx := context.Background()
				stagetest.Eventually(t, "dead-lettered", func() bool {
					rows, _ := l.DeadLetters(ctx, 0)
					for _, r := range rows {
						if r.EventID == env.ID {
							return true
						}
					}
					return false
				})
				var row store.DeadLetter
				rows, _ := l.DeadLetters(ctx, 0)
				for _, r := range rows {
					if r.EventID == env.ID {
						row = r
					}
				}
				if !strings.HasPrefix(row.Reason, "unstorable_value:") {
					t.Fatalf("reason %q, want unstorable_value", row.Reason)
				}
				if row.Deliveries != 1 {
					t.Fatalf("dead-lettered after %d deliveries, want 1 (no retry can store it)", row.Deliveries)
				}
				for _, s := range []string{row.Reason, row.EventID, row.Tenant, row.Subject} {
					if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
						t.Fatalf("dead-letter text %q holds a NUL or invalid UTF-8", s)
					}
				}
				if !bytes.Equal(row.Payload, data) {
					t.Fatalf("dead-letter payload %q, want the message verbatim %q", row.Payload, data)
				}
				if c := h.Contract(env.ContractID); c != nil {
					t.Fatalf("the unstorable event was applied: %+v", c)
				}
				dlq := h.StreamMessages(h.NATS.Names.DLQStream())
				if len(dlq) != 1 || !strings.HasPrefix(dlq[0].Header.Get(dispatcher.HeaderReason), "unstorable_value") {
					t.Fatalf("QYS_DLQ: %d messages (%v), want 1 unstorable_value", len(dlq), dlq)
				}
				if e := dlq[0].Header.Get(dispatcher.HeaderError); strings.ContainsRune(e, 0) || !utf8.ValidString(e) {
					t.Fatalf("QYS_DLQ error header %q holds a NUL or invalid UTF-8", e)
				}
				stagetest.Eventually(t, "nothing left unacked", func() bool { return h.Gauge("qyshook_dispatcher_unacked_events") == 0 })
			})
		}
	})
}

// TestRejectedDetailIsDeadLettered (issue 11): a detail the database
// refuses for good (PostgreSQL: a NUL in the subject, SQLSTATE 22021) is
// a permanent failure, dead-lettered as store_rejected at the first
// delivery instead of retried until MaxDeliver. SQLite stores the NUL.
func TestRejectedDetailIsDeadLettered(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		id := h.Fake.AddContract(qystest.ContractSpec{Subject: "采购\x00合同", Status: lifecycle.Signing})
		env := h.PublishContract(id, "SEAL", lifecycle.Signing)
		h.Start()
		ctx := context.Background()
		if strings.Contains(t.Name(), "sqlite") {
			stagetest.Eventually(t, "applied", func() bool { return h.Contract(id) != nil })
			return
		}
		stagetest.Eventually(t, "dead-lettered", func() bool {
			rows, _ := l.DeadLetters(ctx, 0)
			return len(rows) == 1
		})
		rows, _ := l.DeadLetters(ctx, 0)
		if r := rows[0]; r.EventID != env.ID || !strings.HasPrefix(r.Reason, "store_rejected:") || r.Deliveries != 1 {
			t.Fatalf("dead letter %+v, want store_rejected at the first delivery", r)
		}
	})
}
