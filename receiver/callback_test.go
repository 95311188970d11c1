package receiver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

const formType = "application/x-www-form-urlencoded"

// callbackCase is one request; the baseline is a valid contract callback
// for tenant acme.
type callbackCase struct {
	name        string
	path        string
	sender      qys.SenderConfig
	payload     any
	ts          time.Time
	body        []byte // when set, sent as is
	contentType string
	modify      func(tc *callbackCase)

	wantStatus int
	wantBody   string // substring
	wantStored uint64
}

func baselineCase() callbackCase {
	return callbackCase{
		path: "/callbacks/acme/contract", sender: senderA(secretA),
		payload: contractPayload("3121362688614077231", "SEAL", "SIGNING"), ts: time.Now(),
		wantStatus: http.StatusOK, wantBody: "success", wantStored: 1,
	}
}

func rawForm(ts time.Time, secret, content string) []byte {
	ms := strconv.FormatInt(ts.UnixMilli(), 10)
	return []byte(url.Values{"signature": {qys.Sign(ms, secret)}, "timestamp": {ms}, "content": {content}}.Encode())
}

func refused(status int, code string) func(*callbackCase) {
	return func(tc *callbackCase) {
		tc.wantStatus, tc.wantBody, tc.wantStored = status, `"error":"`+code+`"`, 0
	}
}

func TestCallbackAnswers(t *testing.T) {
	h := newHarness(t, nil)
	encrypt := func(plain string) string {
		c, err := qys.Encrypt(qys.CipherECB, secretA, nil, []byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []callbackCase{
		{name: "OKContractSuccess"},
		{name: "OKAuthPersonalJSON", modify: func(tc *callbackCase) {
			tc.path = "/callbacks/acme/auth/personal"
			tc.payload = map[string]any{"authId": "p-1", "mode": "FACE", "status": "1"}
			tc.wantBody = `{"code":0,"message":"SUCCESS"}`
		}},
		{name: "OKAuthCompanyJSON", modify: func(tc *callbackCase) {
			tc.path = "/callbacks/acme/auth/company"
			tc.payload = map[string]any{"requestId": "c-1", "status": "1", "actionEvent": "7"}
			tc.wantBody = `{"code":0,"message":"SUCCESS"}`
		}},
		{name: "ErrUnknownTenant", modify: func(tc *callbackCase) {
			tc.path = "/callbacks/nobody/contract"
			refused(401, "unknown_tenant")(tc)
		}},
		{name: "ErrMissingSignature", modify: func(tc *callbackCase) {
			tc.sender.Unsigned, tc.sender.Encrypt = true, false
			refused(401, "missing_signature")(tc)
		}},
		{name: "ErrBadSignature", modify: func(tc *callbackCase) {
			tc.body = rawForm(tc.ts, "wrongwrongwrong!", encrypt(`{"contractId":"1"}`))
			refused(401, "bad_signature")(tc)
		}},
		{name: "ErrCrossTenantSecret", modify: func(tc *callbackCase) {
			tc.path = "/callbacks/beta/contract" // signed with acme's secret
			refused(401, "bad_signature")(tc)
		}},
		{name: "ErrStalePast", modify: func(tc *callbackCase) {
			tc.ts = time.Now().Add(-100 * time.Hour)
			refused(401, "stale")(tc)
		}},
		{name: "ErrStaleFuture", modify: func(tc *callbackCase) {
			tc.ts = time.Now().Add(time.Hour)
			refused(401, "stale")(tc)
		}},
		{name: "ErrUndecryptable", modify: func(tc *callbackCase) {
			tc.body = rawForm(tc.ts, secretA, "bm90IGNpcGhlcnRleHQ=")
			refused(400, "invalid_content")(tc)
		}},
		{name: "ErrNotJSON", modify: func(tc *callbackCase) {
			tc.body = rawForm(tc.ts, secretA, encrypt("this is not json"))
			refused(400, "invalid_content")(tc)
		}},
		{name: "ErrMissingContractID", modify: func(tc *callbackCase) {
			p := contractPayload("", "SEAL", "SIGNING")
			delete(p, "contractId")
			tc.payload = p
			refused(400, "missing_contract")(tc)
		}},
		{name: "ErrAuthWithoutRequestID", modify: func(tc *callbackCase) {
			tc.path = "/callbacks/acme/auth/company"
			tc.payload = map[string]any{"status": "1", "actionEvent": "7"}
			refused(400, "missing_request_id")(tc)
		}},
		{name: "ErrOversized", modify: func(tc *callbackCase) {
			tc.body = bytes.Repeat([]byte("a"), 1<<20+1)
			refused(413, "too_large")(tc)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baselineCase()
			c.payload = contractPayloadFor(t.Name(), c.payload)
			if tc.modify != nil {
				tc.modify(&c)
			}
			before := streamMsgs(t, h.nats)
			got := h.send(t, c)
			if got.status != c.wantStatus || !strings.Contains(got.body, c.wantBody) {
				t.Fatalf("answer = %d %q, want %d containing %q", got.status, got.body, c.wantStatus, c.wantBody)
			}
			if n := streamMsgs(t, h.nats) - before; n != c.wantStored {
				t.Fatalf("stored %d messages, want %d", n, c.wantStored)
			}
			if c.wantStatus == 200 && c.path == "/callbacks/acme/contract" && got.contentType != "text/plain; charset=utf-8" {
				t.Fatalf("content type %q", got.contentType)
			}
			if c.wantStatus != 200 && got.contentType != "application/json" {
				t.Fatalf("error content type %q", got.contentType)
			}
		})
	}
}

// contractPayloadFor gives each case its own contract id so successes are
// not duplicates of each other.
func contractPayloadFor(name string, p any) any {
	m, ok := p.(map[string]any)
	if !ok {
		return p
	}
	m["contractId"] = "c-" + strings.ReplaceAll(name, "/", "-")
	return m
}

func (h *harness) send(tb testing.TB, c callbackCase) response {
	tb.Helper()
	if c.body != nil {
		ct := c.contentType
		if ct == "" {
			ct = formType
		}
		return h.post(tb, c.path, ct, c.body)
	}
	out := mustBuild(tb, c.sender, c.payload, c.ts)
	ct := out.ContentType
	if c.contentType != "" {
		ct = c.contentType
	}
	return h.post(tb, c.path, ct, out.Body)
}

func TestGarbageIsRefusedAndNotStored(t *testing.T) {
	h := newHarness(t, nil)
	valid := mustBuild(t, senderA(secretA), contractPayload("g-1", "SEAL", "SIGNING"), time.Now())
	cases := []struct {
		name, contentType string
		body              []byte
	}{
		{"GarbageBytes", formType, []byte{0xff, 0x00, 0x13, 0x37, '%', 'z', '&', '='}},
		{"EmptyBody", formType, nil},
		{"WrongContentTypeJSON", "application/json", valid.Body},
		{"WrongContentTypeOctet", "application/octet-stream", []byte("\x00\x01\x02")},
		{"JSONGarbage", "application/json", []byte(`{"signature":`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := streamMsgs(t, h.nats)
			got := h.post(t, "/callbacks/acme/contract", tc.contentType, tc.body)
			if got.status != 400 && got.status != 401 {
				t.Fatalf("status %d %q, want 400 or 401", got.status, got.body)
			}
			if !strings.Contains(got.body, `"error":"`) {
				t.Fatalf("body %q is not a JSON error", got.body)
			}
			if n := streamMsgs(t, h.nats) - before; n != 0 {
				t.Fatalf("stored %d messages", n)
			}
		})
	}
}

func TestRetriedCallbackStoredOnce(t *testing.T) {
	h := newHarness(t, nil)
	first := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	payload := contractPayload("3121362688614077231", "SEAL", "SIGNING")
	for i, ts := range []time.Time{first, first.Add(5 * time.Minute), first.Add(2 * time.Hour)} {
		got := h.send(t, callbackCase{path: "/callbacks/acme/contract", sender: senderA(secretA), payload: payload, ts: ts})
		if got.status != 200 || got.body != "success" {
			t.Fatalf("delivery %d: %d %q", i+1, got.status, got.body)
		}
	}
	msgs := storedEnvelopes(t, h.nats.JS, h.nats.Names)
	if len(msgs) != 1 {
		t.Fatalf("stream holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if want := h.nats.Names.CallbackSubject("acme", events.KindContract, "SEAL"); m.Subject != want {
		t.Fatalf("subject %s, want %s", m.Subject, want)
	}
	env, err := events.Decode(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	actor := &events.Actor{TenantType: "COMPANY", TenantName: "某某科技有限公司", TenantID: "2422042838839468036", Contact: "13800000000"}
	wantID := events.EventID("acme", events.KindContract, "3121362688614077231", "SEAL", "SIGNING", events.ActorKey(actor))
	if env.ID != wantID || m.Header.Get("Nats-Msg-Id") != wantID {
		t.Fatalf("id %s, header %s, want %s", env.ID, m.Header.Get("Nats-Msg-Id"), wantID)
	}
	if env.Schema != events.SchemaCallbackV1 || env.Tenant != "acme" || env.Kind != events.KindContract ||
		env.Type != "SEAL" || env.ContractID != "3121362688614077231" || env.ContractStatus != "SIGNING" ||
		env.Format != "A" || env.Source != events.SourceCallback || env.BusinessData != "order-42" {
		t.Fatalf("envelope = %+v", env)
	}
	if env.Actor == nil || *env.Actor != *actor {
		t.Fatalf("actor = %+v", env.Actor)
	}
	if env.OccurredAt == nil || !env.OccurredAt.Equal(first) || env.ReceivedAt.Location() != time.UTC ||
		time.Since(env.ReceivedAt) > time.Minute {
		t.Fatalf("occurred_at %v received_at %v, want %v and now", env.OccurredAt, env.ReceivedAt, first)
	}
	var p map[string]any
	if err := json.Unmarshal(env.Payload, &p); err != nil || p["contractId"] != "3121362688614077231" {
		t.Fatalf("payload %s: %v", env.Payload, err)
	}
	metrics := h.get(t, "/metrics").body
	if !contains(metrics, `qyshook_receiver_duplicates_total{tenant="acme"} 2`,
		`qyshook_receiver_requests_total{outcome="duplicate",route="contract",tenant="acme"} 2`,
		`qyshook_receiver_requests_total{outcome="success",route="contract",tenant="acme"} 1`) {
		t.Fatalf("metrics:\n%s", metrics)
	}
}

func TestUnknownCallbackTypeStored(t *testing.T) {
	h := newHarness(t, nil)
	got := h.send(t, callbackCase{path: "/callbacks/acme/contract", sender: senderA(secretA),
		payload: contractPayload("u-1", "BRAND_NEW.TYPE", "SIGNING"), ts: time.Now()})
	if got.status != 200 {
		t.Fatalf("%d %q", got.status, got.body)
	}
	msgs := storedEnvelopes(t, h.nats.JS, h.nats.Names)
	if len(msgs) != 1 || msgs[0].Subject != h.nats.Names.CallbackSubject("acme", events.KindContract, "BRAND_NEW_TYPE") {
		t.Fatalf("stored %d, subject %v", len(msgs), msgs)
	}
}

func TestAuthCallbacksStoredOnAuthSubjects(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct{ path, kind string }{
		{"/callbacks/beta/auth/personal", events.KindAuthPersonal},
		{"/callbacks/beta/auth/company", events.KindAuthCompany},
	} {
		got := h.send(t, callbackCase{path: c.path, sender: senderA(secretB),
			payload: map[string]any{"requestId": "r-1", "authId": "r-1", "status": "1"}, ts: time.Now()})
		if got.status != 200 || got.body != `{"code":0,"message":"SUCCESS"}` {
			t.Fatalf("%s: %d %q", c.path, got.status, got.body)
		}
		_ = c.kind
	}
	msgs := storedEnvelopes(t, h.nats.JS, h.nats.Names)
	if len(msgs) != 2 {
		t.Fatalf("stored %d", len(msgs))
	}
	for i, kind := range []string{events.KindAuthPersonal, events.KindAuthCompany} {
		env, err := events.Decode(msgs[i].Data)
		if err != nil || env.Kind != kind || msgs[i].Subject != h.nats.Names.CallbackSubject("beta", kind, "") {
			t.Fatalf("msg %d: subject %s env %+v err %v", i, msgs[i].Subject, env, err)
		}
	}
}

func TestCallbackCheckAnsweredNotStored(t *testing.T) {
	h := newHarness(t, nil)
	out := mustBuild(t, qys.SenderConfig{Format: qys.FormatB, Secret: secretA, Token: tokenB},
		map[string]any{"callbackType": "CALLBACK_CHECK"}, time.Now())
	got := h.post(t, "/callbacks/onprem/contract", out.ContentType, out.Body)
	if got.status != 200 || got.body != "success" {
		t.Fatalf("%d %q", got.status, got.body)
	}
	if n := streamMsgs(t, h.nats); n != 0 {
		t.Fatalf("stored %d", n)
	}
}

func TestLogsHoldNoPersonalDataOrSecrets(t *testing.T) {
	h := newHarness(t, nil)
	h.send(t, callbackCase{path: "/callbacks/acme/contract?company=secret-query", sender: senderA(secretA),
		payload: contractPayload("l-1", "SEAL", "SIGNING"), ts: time.Now()})
	h.send(t, callbackCase{path: "/callbacks/beta/contract", sender: senderA(secretA),
		payload: contractPayload("l-2", "SEAL", "SIGNING"), ts: time.Now()})
	logs := h.logs.String()
	for _, s := range []string{"某某科技", "13800000000", "2422042838839468036", "order-42", secretA, secretB, "secret-query"} {
		if strings.Contains(logs, s) {
			t.Fatalf("logs contain %q:\n%s", s, logs)
		}
	}
	if !contains(logs, `"event_id":"qys-`, `"contract_id":"l-1"`, `"req_id"`, `"error_code":"bad_signature"`) {
		t.Fatalf("logs miss expected fields:\n%s", logs)
	}
}

// TestUnknownTenantMetrics: a request for a tenant that is not configured
// is counted under one label value, whatever the path says.
func TestUnknownTenantMetrics(t *testing.T) {
	h := newHarness(t, nil)
	h.post(t, "/callbacks/"+strings.Repeat("x", 40)+"/contract", formType, []byte("a=b"))
	m := h.get(t, "/metrics")
	if m.status != 200 || !contains(m.body, `qyshook_receiver_requests_total{outcome="unknown_tenant",route="contract",tenant="_unknown"} 1`,
		`qyshook_receiver_verification_failures_total{reason="unknown_tenant",tenant="_unknown"} 1`) {
		t.Fatalf("metrics %d:\n%s", m.status, m.body)
	}
}

// TestPublishWithoutStream503: without the callbacks stream nothing can be
// stored, so the callback is answered 503 for 契约锁 to retry.
func TestPublishWithoutStream503(t *testing.T) {
	h := newHarness(t, nil, func(o *receiver.Options) { o.Names.Namespace = "nostream" + o.Names.Namespace })
	got := h.send(t, baselineCase())
	if got.status != 503 || !strings.Contains(got.body, `"error":"unavailable"`) {
		t.Fatalf("publish without stream: %d %q", got.status, got.body)
	}
}

func TestTwoReceiversInOneProcess(t *testing.T) {
	env := newHarness(t, nil).nats
	newHarness(t, env) // its own registry: no duplicate registration
}

// TestLogLevelsDropTheirMiddlewares: below info there is no access line
// (its middleware is not installed), refusals are still logged with their
// request id, and a disabled logger leaves every callback answered.
func TestLogLevelsDropTheirMiddlewares(t *testing.T) {
	h := newHarness(t, nil, func(o *receiver.Options) { o.Logger = o.Logger.Level(zerolog.WarnLevel) })
	if got := h.send(t, callbackCase{path: "/callbacks/acme/contract", sender: senderA(secretA),
		payload: contractPayload("w-1", "SEAL", "SIGNING"), ts: time.Now()}); got.status != 200 {
		t.Fatalf("stored callback: %d %q", got.status, got.body)
	}
	if logs := h.logs.String(); logs != "" {
		t.Fatalf("a stored callback logged at warn level:\n%s", logs)
	}
	h.send(t, callbackCase{path: "/callbacks/beta/contract", sender: senderA(secretA),
		payload: contractPayload("w-2", "SEAL", "SIGNING"), ts: time.Now()})
	logs := h.logs.String()
	if !contains(logs, `"req_id"`, `"error_code":"bad_signature"`) || strings.Contains(logs, `"message":"request"`) {
		t.Fatalf("refusal at warn level:\n%s", logs)
	}

	off := newHarness(t, h.nats, func(o *receiver.Options) { o.Logger = zerolog.Logger{} })
	if got := off.send(t, callbackCase{path: "/callbacks/acme/contract", sender: senderA(secretA),
		payload: contractPayload("w-3", "SEAL", "SIGNING"), ts: time.Now()}); got.status != 200 {
		t.Fatalf("without a logger: %d %q", got.status, got.body)
	}
	if got := off.send(t, callbackCase{path: "/callbacks/beta/contract", sender: senderA(secretA),
		payload: contractPayload("w-4", "SEAL", "SIGNING"), ts: time.Now()}); got.status != 401 {
		t.Fatalf("refused without a logger: %d %q", got.status, got.body)
	}
}
