package receiver_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

// The direct-mode (public cloud, non-SaaS) certification callback: plain
// form fields, no signature, no timestamp (docs/qys-protocol.md §7).
func TestDirectModeCertificationAcceptedByDefault(t *testing.T) {
	h := newHarness(t, nil)
	for path, form := range map[string]url.Values{
		"/callbacks/acme/auth/company":  {"requestId": {"c-direct"}, "status": {"1"}},
		"/callbacks/acme/auth/personal": {"authId": {"p-direct"}, "status": {"1"}},
	} {
		got := h.post(t, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
		if got.status != 200 || got.body != `{"code":0,"message":"SUCCESS"}` {
			t.Errorf("%s: %d %q, want 200 and the JSON answer", path, got.status, got.body)
		}
	}
	// The contract route stays strict.
	got := h.post(t, "/callbacks/acme/contract", "application/x-www-form-urlencoded",
		[]byte(url.Values{"contractId": {"1"}, "callbackType": {"CONTRACT_COMPLETE"}}.Encode()))
	if got.status != 401 {
		t.Errorf("unsigned plain contract callback: %d %q, want 401", got.status, got.body)
	}
}

// shape is one way a format-A callback can arrive.
type shape struct {
	name  string
	level qys.Accept // the least a policy must accept to let it through
	send  qys.SenderConfig
}

var shapes = []shape{
	{"Encrypted", qys.AcceptEncrypted, qys.SenderConfig{Format: qys.FormatA, Secret: secretA, Encrypt: true}},
	{"PlainSigned", qys.AcceptPlain, qys.SenderConfig{Format: qys.FormatA, Secret: secretA}},
	{"UnsignedPlainForm", qys.AcceptUnsigned, qys.SenderConfig{Format: qys.FormatA, Secret: secretA, Unsigned: true}},
	{"UnsignedEncrypted", qys.AcceptUnsigned, qys.SenderConfig{Format: qys.FormatA, Secret: secretA, Encrypt: true, Unsigned: true}},
}

var rank = map[qys.Accept]int{qys.AcceptEncrypted: 0, qys.AcceptPlain: 1, qys.AcceptUnsigned: 2}

// TestPolicyPerKind sends every shape to every route of tenants with
// different policies: a shape passes exactly when the route's own kind
// accepts it, whatever the other kinds accept.
func TestPolicyPerKind(t *testing.T) {
	policies := map[string]qys.Policy{
		"strict":        {Contract: qys.AcceptEncrypted, AuthPersonal: qys.AcceptEncrypted, AuthCompany: qys.AcceptEncrypted},
		"defaults":      {},
		"plainauth":     {AuthPersonal: qys.AcceptPlain, AuthCompany: qys.AcceptPlain},
		"plaincontract": {Contract: qys.AcceptPlain, AuthPersonal: qys.AcceptEncrypted, AuthCompany: qys.AcceptEncrypted},
		"unsignedco":    {AuthPersonal: qys.AcceptEncrypted, AuthCompany: qys.AcceptUnsigned},
		"open":          {Contract: qys.AcceptUnsigned, AuthPersonal: qys.AcceptUnsigned, AuthCompany: qys.AcceptUnsigned},
	}
	tenants := map[string]*qys.Verifier{}
	for name, p := range policies {
		tenants[name] = mustVerifier(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{secretA}, Window: window, Policy: p})
	}
	h := newHarness(t, nil, func(o *receiver.Options) { o.Tenants = tenants })
	routes := []struct {
		kind    qys.Kind
		path    string
		payload func(id string) map[string]any
		answer  string
	}{
		{qys.KindContract, "contract", func(id string) map[string]any { return contractPayload(id, "CONTRACT_COMPLETE", "COMPLETE") }, "success"},
		{qys.KindAuthPersonal, "auth/personal", func(id string) map[string]any { return map[string]any{"authId": id, "status": "1"} }, `{"code":0,"message":"SUCCESS"}`},
		{qys.KindAuthCompany, "auth/company", func(id string) map[string]any { return map[string]any{"requestId": id, "status": "1"} }, `{"code":0,"message":"SUCCESS"}`},
	}
	stored := uint64(0)
	for tenant, p := range policies {
		v := tenants[tenant]
		for _, r := range routes {
			accept := v.Policy().For(r.kind)
			for _, s := range shapes {
				t.Run(tenant+"/"+r.path+"/"+s.name, func(t *testing.T) {
					id := fmt.Sprintf("%s-%s-%s", tenant, strings.ReplaceAll(r.path, "/", "-"), s.name)
					got := h.send(t, callbackCase{path: "/callbacks/" + tenant + "/" + r.path, sender: s.send,
						payload: r.payload(id), ts: time.Now()})
					if rank[s.level] <= rank[accept] {
						if got.status != 200 || got.body != r.answer {
							t.Fatalf("policy %+v accepts %s for %s: got %d %q", p, s.level, r.kind, got.status, got.body)
						}
						stored++
						return
					}
					want, code := 401, "missing_signature"
					if s.level == qys.AcceptPlain {
						want, code = 400, "invalid_content"
					}
					if got.status != want || !strings.Contains(got.body, code) {
						t.Fatalf("policy %+v refuses %s for %s: got %d %q, want %d %s", p, s.level, r.kind, got.status, got.body, want, code)
					}
				})
			}
		}
	}
	if n := streamMsgs(t, h.nats); n != stored {
		t.Fatalf("stream holds %d callbacks, want %d (refused ones must not be stored)", n, stored)
	}
	// The defaults: certification routes take every shape, the contract
	// route only signed and encrypted callbacks.
	d := tenants["defaults"].Policy()
	if d.Contract != qys.AcceptEncrypted || d.AuthPersonal != qys.AcceptUnsigned || d.AuthCompany != qys.AcceptUnsigned {
		t.Fatalf("default policy = %+v", d)
	}
}

// TestPlainCertificationsKeepContractStrict: a tenant that accepts plain,
// unsigned certification callbacks still refuses an unsigned contract
// callback, plain or encrypted, and a wrongly signed one.
func TestPlainCertificationsKeepContractStrict(t *testing.T) {
	v := mustVerifier(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{secretA}, Window: window,
		Policy: qys.Policy{AuthPersonal: qys.AcceptUnsigned, AuthCompany: qys.AcceptUnsigned}})
	h := newHarness(t, nil, func(o *receiver.Options) { o.Tenants = map[string]*qys.Verifier{"acme": v} })
	for _, s := range shapes[2:] {
		got := h.send(t, callbackCase{path: "/callbacks/acme/contract", sender: s.send,
			payload: contractPayload("forged-"+s.name, "CONTRACT_COMPLETE", "COMPLETE"), ts: time.Now()})
		if got.status != 401 || !strings.Contains(got.body, "missing_signature") {
			t.Errorf("%s contract callback: %d %q, want 401 missing_signature", s.name, got.status, got.body)
		}
	}
	wrong := h.send(t, callbackCase{path: "/callbacks/acme/auth/company", sender: senderA(secretB),
		payload: map[string]any{"requestId": "c-wrong", "status": "1"}, ts: time.Now()})
	if wrong.status != 401 || !strings.Contains(wrong.body, "bad_signature") {
		t.Errorf("wrongly signed certification callback: %d %q, want 401 bad_signature (a signature present is always checked)", wrong.status, wrong.body)
	}
	if n := streamMsgs(t, h.nats); n != 0 {
		t.Fatalf("stored %d", n)
	}
}

// TestFormatBKindFromContent: format B names its kind inside the content;
// an unsigned envelope on a lenient certification route that decrypts to
// a contract callback is refused by the contract policy.
func TestFormatBKindFromContent(t *testing.T) {
	v := mustVerifier(t, qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{secretA}, Token: tokenB, Window: window,
		Policy: qys.Policy{AuthCompany: qys.AcceptUnsigned}})
	h := newHarness(t, nil, func(o *receiver.Options) { o.Tenants = map[string]*qys.Verifier{"onprem": v} })
	envelope := func(payload string) []byte {
		enc, err := qys.Encrypt(qys.CipherCBC, secretA, qys.TokenIV(tokenB), []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]string{"encrypted": enc}) // no timestamp, no signature
		return b
	}
	got := h.post(t, "/callbacks/onprem/auth/company", "application/json",
		envelope(`{"callbackType":"COMPANY_AUTH_SUCCESS","requestId":"c-b"}`))
	if got.status != 200 {
		t.Fatalf("unsigned certification on its lenient route: %d %q", got.status, got.body)
	}
	got = h.post(t, "/callbacks/onprem/auth/company", "application/json",
		envelope(`{"callbackType":"CONTRACT_COMPLETE","contractId":"1","status":"COMPLETE"}`))
	if got.status != 401 || !strings.Contains(got.body, "missing_signature") {
		t.Fatalf("unsigned contract callback through the certification route: %d %q, want 401", got.status, got.body)
	}
	got = h.post(t, "/callbacks/onprem/contract", "application/json",
		envelope(`{"callbackType":"CONTRACT_COMPLETE","contractId":"1","status":"COMPLETE"}`))
	if got.status != 401 {
		t.Fatalf("unsigned contract callback: %d %q, want 401", got.status, got.body)
	}
}

// TestAuthAnswerPerTenant: the body answered to a stored certification
// callback is the tenant's choice; contract callbacks always get success.
func TestAuthAnswerPerTenant(t *testing.T) {
	h := newHarness(t, nil, func(o *receiver.Options) {
		o.AuthAnswers = map[string]receiver.AuthAnswer{"beta": receiver.AuthAnswerSuccess}
	})
	for _, c := range []struct{ path, want string }{
		{"/callbacks/acme/auth/company", `{"code":0,"message":"SUCCESS"}`}, // default: JSON
		{"/callbacks/beta/auth/company", "success"},
		{"/callbacks/beta/auth/personal", "success"},
		{"/callbacks/beta/contract", "success"},
	} {
		sender := senderA(secretB)
		if strings.Contains(c.path, "/acme/") {
			sender = senderA(secretA)
		}
		payload := map[string]any{"requestId": "r-" + c.path, "authId": "a-" + c.path, "status": "1"}
		if strings.HasSuffix(c.path, "/contract") {
			payload = contractPayload("ans-1", "CONTRACT_COMPLETE", "COMPLETE")
		}
		got := h.send(t, callbackCase{path: c.path, sender: sender, payload: payload, ts: time.Now()})
		if got.status != 200 || got.body != c.want {
			t.Errorf("%s: %d %q, want %q", c.path, got.status, got.body, c.want)
		}
		if c.want == "success" && !strings.HasPrefix(got.contentType, "text/plain") {
			t.Errorf("%s: content type %q", c.path, got.contentType)
		}
	}
}

func TestAuthAnswerValidated(t *testing.T) {
	env := newHarness(t, nil).nats
	for name, answers := range map[string]map[string]receiver.AuthAnswer{
		"UnknownValue":  {"acme": "SUCCESS!"},
		"UnknownTenant": {"nobody": receiver.AuthAnswerSuccess},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := receiver.New(receiver.Options{Tenants: testTenants(t), Publisher: env.JS, Names: env.Names, AuthAnswers: answers})
			if err == nil {
				t.Fatal("receiver.New accepted an invalid certification answer")
			}
		})
	}
	for in, want := range map[string]receiver.AuthAnswer{"": receiver.AuthAnswerJSON, " JSON ": receiver.AuthAnswerJSON, "success": receiver.AuthAnswerSuccess} {
		if got, err := receiver.ParseAuthAnswer(in); err != nil || got != want {
			t.Errorf("ParseAuthAnswer(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := receiver.ParseAuthAnswer("ok"); err == nil {
		t.Error(`ParseAuthAnswer("ok") succeeded`)
	}
}

// FuzzParseAuthAnswer: any input is json, success or an error, never a
// third value.
func FuzzParseAuthAnswer(f *testing.F) {
	for _, s := range []string{"", "json", " Success ", "SUCCESS!", "{\"code\":0}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := receiver.ParseAuthAnswer(s)
		if err == nil && a != receiver.AuthAnswerJSON && a != receiver.AuthAnswerSuccess {
			t.Fatalf("ParseAuthAnswer(%q) = %q", s, a)
		}
		if err != nil && (a != "" || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("ParseAuthAnswer(%q) = %q, %v", s, a, err)
		}
	})
}
