package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
)

// TestNoticeSubjects: notice subjects parse back to their tenant and kind,
// lie inside the callback stream a start-up provisioned (so a deployment
// provisioned before they existed stores them), and a notice envelope
// needs its digest.
func TestNoticeSubjects(t *testing.T) {
	n := events.Names{Namespace: "ns"}
	for _, kind := range events.NoticeKinds {
		subj := n.CallbackSubject("acme", kind, "PASS.x")
		tenant, got, ok := n.SplitCallbackSubject(subj)
		if !ok || tenant != "acme" || got != kind {
			t.Errorf("%s: split %q → %q %q %v", kind, subj, tenant, got, ok)
		}
	}
	if s := n.CallbackSubject("acme", events.KindSealAudit, "PASS"); s != "ns.qys.callback.acme.notify.seal-audit.PASS" {
		t.Errorf("subject %s", s)
	}
	if s := n.LedgerNoticeSubject("acme", events.KindPhysicalSeal, ""); s != "ns.qys.ledger.acme.notice.physical-seal.UNKNOWN" {
		t.Errorf("ledger subject %s", s)
	}
	if _, _, ok := n.SplitCallbackSubject("ns.qys.callback.acme.notify.seal-inventory.PASS"); ok {
		t.Error("an unknown notice kind parsed")
	}
	env := natstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	subj := env.Names.CallbackSubject("default", events.KindPhysicalSeal, "COMPLETE")
	if _, err := env.JS.Publish(ctx, subj, []byte("{}"), jetstream.WithExpectStream(env.Names.CallbacksStream())); err != nil {
		t.Fatalf("the callback stream does not take %s: %v", subj, err)
	}
	base := `{"schema":"qyshook.callback.v1","id":"i","tenant":"t","kind":"notify.seal-audit","type":"PASS","received_at":"2026-12-07T00:00:00Z","format":"A","source":"callback","payload":{}`
	if _, err := events.Decode([]byte(base + `}`)); !errors.Is(err, events.ErrInvalidEnvelope) {
		t.Errorf("a notice without its digest decoded: %v", err)
	}
	if e, err := events.Decode([]byte(base + `,"notice":{"key":"a-1","digest":"d"}}`)); err != nil || e.Notice.Key != "a-1" {
		t.Errorf("notice envelope: %+v %v", e, err)
	}
}

// TestNoticeGolden pins the wire format of a notice envelope and fact.
func TestNoticeGolden(t *testing.T) {
	received := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, ID: "qys-0123456789abcdef0123456789abcdef", Tenant: "default",
		Kind: events.KindSealAudit, Type: "PASS", Notice: &events.Notice{Key: "7001", Digest: "5e" + strings.Repeat("0", 62)},
		OccurredAt: &received, ReceivedAt: received, Format: "A", Source: events.SourceCallback,
		Payload: json.RawMessage(`{"applyId":"7001","result":"PASS","detail":"{\"sealId\":\"9\"}"}`),
	}
	golden(t, "callback_notice_seal_audit.json", env)
	fact := events.Fact{
		Schema: events.SchemaLedgerV1, ID: "fact-aabbccddeeff00112233445566778899", Tenant: "default",
		Kind: events.FactKindNotice, Status: "PASS", Confirmed: false, Source: events.SourceCallback,
		CauseEventID: env.ID, OccurredAt: received.Add(time.Second),
		Notice: &events.FactNotice{Kind: events.KindSealAudit, Type: "PASS", Key: "7001", ReceivedAt: received},
		Detail: env.Payload,
	}
	golden(t, "fact_notice.json", fact)
}
