package receiver_test

import (
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
)

// TestNoticeRoute: a notice of a known kind is stored on
// qys.callback.<tenant>.notify.<kind>.<type> and answered as its kind
// expects; an unknown kind is 404, an unknown tenant 401, an unsigned seal
// audit 401, and none of them is stored.
func TestNoticeRoute(t *testing.T) {
	h := newHarness(t, nil)
	sealAudit := map[string]any{"applyId": "a-1", "result": "PASS", "detail": `{"sealId":"9"}`}
	got := h.send(t, callbackCase{path: "/callbacks/acme/notify/seal-audit", sender: senderA(secretA), payload: sealAudit, ts: time.Now()})
	if got.status != 200 || got.body != `{"code":0,"responseCode":"00000000","message":"SUCCESS"}` {
		t.Fatalf("seal audit: %d %q", got.status, got.body)
	}
	got = h.send(t, callbackCase{path: "/callbacks/acme/notify/physical-seal", sender: qys.SenderConfig{Unsigned: true},
		payload: map[string]any{"businessId": "b-1", "status": "COMPLETE"}, ts: time.Now()})
	if got.status != 200 || got.body != `{"code":0,"message":"SUCCESS"}` {
		t.Fatalf("physical seal: %d %q", got.status, got.body)
	}
	got = h.send(t, callbackCase{path: "/callbacks/onprem/notify/personal-sign-auth", sender: qys.SenderConfig{Format: qys.FormatB, Secret: secretA, Token: tokenB},
		payload: map[string]any{"companyId": "42", "item": "AUTHORIZE", "callbackTime": time.Now().UnixMilli()}, ts: time.Now()})
	if got.status != 200 || got.body != "success" {
		t.Fatalf("format-B signing authorisation: %d %q", got.status, got.body)
	}
	for _, c := range []struct {
		path   string
		sender qys.SenderConfig
		status int
	}{
		{"/callbacks/acme/notify/seal-inventory", senderA(secretA), 404},
		{"/callbacks/nobody/notify/seal-audit", senderA(secretA), 401},
		{"/callbacks/nobody/notify/seal-inventory", senderA(secretA), 401},
		{"/callbacks/acme/notify/seal-audit", qys.SenderConfig{Unsigned: true}, 401},
		{"/callbacks/acme/notify/seal-audit", senderA(secretB), 401},
	} {
		got := h.send(t, callbackCase{path: c.path, sender: c.sender, payload: sealAudit, ts: time.Now()})
		if got.status != c.status {
			t.Errorf("%s: %d %q, want %d", c.path, got.status, got.body, c.status)
		}
	}
	msgs := storedEnvelopes(t, h.nats.JS, h.nats.Names)
	want := []struct{ tenant, kind, typ string }{
		{"acme", events.KindSealAudit, "PASS"}, {"acme", events.KindPhysicalSeal, "COMPLETE"},
		{"onprem", events.KindPersonalSignAuth, "AUTHORIZE"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("stored %d messages, want %d", len(msgs), len(want))
	}
	for i, w := range want {
		env, err := events.Decode(msgs[i].Data)
		if err != nil {
			t.Fatal(err)
		}
		if env.Kind != w.kind || env.Type != w.typ || env.Notice == nil || env.Notice.Digest == "" ||
			msgs[i].Subject != h.nats.Names.CallbackSubject(w.tenant, w.kind, w.typ) {
			t.Fatalf("message %d on %s: %+v", i, msgs[i].Subject, env)
		}
	}
	if want := "qys.callback.acme.notify.seal-audit.PASS"; h.nats.Names.Namespace == "" && msgs[0].Subject != want {
		t.Fatalf("subject %s, want %s", msgs[0].Subject, want)
	}
}
