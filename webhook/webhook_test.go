package webhook_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/webhook"
)

// The Standard Webhooks specification's published test vector (the
// reference libraries' TestWebhookSign, standard-webhooks/libraries).
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSpecVector(t *testing.T) {
	got, err := webhook.Sign(specSecret, specID, time.Unix(specTimestamp, 0), []byte(specBody))
	if err != nil || got != specSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, specSignature)
	}
	// The prefix is optional, as in the reference libraries.
	if got, _ := webhook.Sign(strings.TrimPrefix(specSecret, "whsec_"), specID, time.Unix(specTimestamp, 0), []byte(specBody)); got != specSignature {
		t.Fatalf("Sign without the prefix = %q", got)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, specID)
	h.Set(webhook.HeaderTimestamp, strconv.Itoa(specTimestamp))
	h.Set(webhook.HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,x "+specSignature)
	if err := webhook.Verify(specSecret, h, []byte(specBody), time.Unix(specTimestamp+10, 0)); err != nil {
		t.Fatalf("Verify of the vector among other signatures: %v", err)
	}
}

func TestVerify(t *testing.T) {
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"f1"}`)
	base := func() http.Header {
		h, err := webhook.Headers([]string{secret}, "f1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	other, _ := webhook.NewSecret()
	for _, tc := range []struct {
		name   string
		modify func(h http.Header) (secret string, body []byte, now time.Time)
		want   error
	}{
		{"OK", func(http.Header) (string, []byte, time.Time) { return secret, body, now }, nil},
		{"ErrMissingHeaders", func(h http.Header) (string, []byte, time.Time) {
			h.Del(webhook.HeaderID)
			return secret, body, now
		}, webhook.ErrMissingHeaders},
		{"ErrBadTimestamp", func(h http.Header) (string, []byte, time.Time) {
			h.Set(webhook.HeaderTimestamp, "soon")
			return secret, body, now
		}, webhook.ErrBadTimestamp},
		{"ErrTimestampTooOld", func(http.Header) (string, []byte, time.Time) { return secret, body, now.Add(6 * time.Minute) },
			webhook.ErrTimestampTooOld},
		{"ErrTimestampTooNew", func(http.Header) (string, []byte, time.Time) { return secret, body, now.Add(-6 * time.Minute) },
			webhook.ErrTimestampTooNew},
		{"ErrNoMatchingSigning/secret", func(http.Header) (string, []byte, time.Time) { return other, body, now },
			webhook.ErrNoMatchingSigning},
		{"ErrNoMatchingSigning/body", func(http.Header) (string, []byte, time.Time) { return secret, []byte(`{"id":"f2"}`), now },
			webhook.ErrNoMatchingSigning},
		{"ErrBadSecret", func(http.Header) (string, []byte, time.Time) { return "whsec_short", body, now }, webhook.ErrBadSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			s, b, n := tc.modify(h)
			if err := webhook.Verify(s, h, b, n); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestHeadersSignWithEverySecret: during a rotation each secret adds a
// signature, each of which verifies alone.
func TestHeadersSignWithEverySecret(t *testing.T) {
	a, _ := webhook.NewSecret()
	b, _ := webhook.NewSecret()
	now := time.Now()
	h, err := webhook.Headers([]string{a, b}, "f1", now, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get(webhook.HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures, want 2", n)
	}
	for _, s := range []string{a, b} {
		if err := webhook.Verify(s, h, []byte("{}"), now); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url                string
		allowHTTP, private bool
		want               error
	}{
		{"https://erp.example.com/hooks/qys", false, false, nil},
		{"http://erp.example.com/hooks", false, false, webhook.ErrBadURL},
		{"http://erp.example.com/hooks", true, false, nil},
		{"ftp://erp.example.com/", true, true, webhook.ErrBadURL},
		{"https://user:pw@erp.example.com/", false, false, webhook.ErrBadURL},
		{"/relative", true, true, webhook.ErrBadURL},
		{"https://127.0.0.1/", false, false, webhook.ErrPrivateAddress},
		{"https://localhost:8443/", false, false, webhook.ErrPrivateAddress},
		{"https://10.1.2.3/", false, false, webhook.ErrPrivateAddress},
		{"https://192.168.1.10/", false, false, webhook.ErrPrivateAddress},
		{"https://169.254.169.254/latest/meta-data", false, false, webhook.ErrPrivateAddress},
		{"https://[::1]/", false, false, webhook.ErrPrivateAddress},
		{"https://[fd00::1]/", false, false, webhook.ErrPrivateAddress},
		{"https://100.64.0.1/", false, false, webhook.ErrPrivateAddress},
		{"https://[::ffff:127.0.0.1]/", false, false, webhook.ErrPrivateAddress},
		{"https://10.1.2.3/", false, true, nil},
		{"https://8.8.8.8/", false, false, nil},
	} {
		if err := webhook.CheckURL(tc.url, tc.allowHTTP, tc.private); !errors.Is(err, tc.want) {
			t.Errorf("CheckURL(%q, http %v, private %v) = %v, want %v", tc.url, tc.allowHTTP, tc.private, err, tc.want)
		}
	}
	if webhook.Public(netip.MustParseAddr("0.0.0.0")) {
		t.Error("0.0.0.0 is public")
	}
}

// TestSenderRefusesPrivateAddressesWhenDialling: a name that resolves to
// loopback (here localhost's port) is refused at connection time unless
// private addresses are allowed.
func TestSenderRefusesPrivateAddressesWhenDialling(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	secret, _ := webhook.NewSecret()
	m := webhook.Message{URL: srv.URL, Secrets: []string{secret}, ID: "f1", Body: []byte("{}")}
	res := webhook.NewSender(5*time.Second, false).Send(t.Context(), m)
	if !errors.Is(res.Err, webhook.ErrPrivateAddress) {
		t.Fatalf("guarded sender to %s: %+v", srv.URL, res)
	}
	if res := webhook.NewSender(5*time.Second, true).Send(t.Context(), m); !res.OK() || res.Status != 204 {
		t.Fatalf("sender allowing private addresses: %+v", res)
	}
}

func TestMatchType(t *testing.T) {
	for _, tc := range []struct {
		types []string
		rel   string
		want  bool
	}{
		{nil, "contract.COMPLETE", true},
		{[]string{"contract.COMPLETE"}, "contract.COMPLETE", true},
		{[]string{"contract.COMPLETE"}, "contract.SIGNING", false},
		{[]string{"contract.*"}, "contract.SIGNING", true},
		{[]string{"contract.*"}, "documents.archived", false},
		{[]string{"certification.>"}, "certification.unconfirmed.SUCCESS", true},
		{[]string{"certification.*"}, "certification.unconfirmed.SUCCESS", false},
		{[]string{"documents.archived", "contract.COMPLETE"}, "documents.archived", true},
	} {
		if got := webhook.MatchType(tc.types, tc.rel); got != tc.want {
			t.Errorf("MatchType(%v, %s) = %v", tc.types, tc.rel, got)
		}
	}
	if err := webhook.CheckTypes([]string{"contract.>", "contract.*", "notice.seal-audit.PASS"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"contract..x", "contract.>.x", "qys ledger", ""} {
		if err := webhook.CheckTypes([]string{bad}); err == nil {
			t.Errorf("CheckTypes(%q) accepted", bad)
		}
	}
}

// TestRetryAfter: a 429's Retry-After, in seconds, is read into the result.
func TestRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(429)
		_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	secret, _ := webhook.NewSecret()
	res := webhook.NewSender(5*time.Second, true).Send(t.Context(), webhook.Message{URL: srv.URL, Secrets: []string{secret}, ID: "f1", Body: []byte("{}")})
	if res.Status != 429 || res.RetryAfter != 2*time.Minute || len(res.Response) != webhook.MaxResponse || res.OK() {
		t.Fatalf("429: status %d, retry after %s, %d response bytes", res.Status, res.RetryAfter, len(res.Response))
	}
}

// TestAsymmetric: a whsk_ key signs v1a, which verifies with its whpk_
// public key only, beside an HMAC signature during a rotation.
func TestAsymmetric(t *testing.T) {
	sk, pk, err := webhook.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := webhook.PublicKeyOf(sk); got != pk {
		t.Fatalf("PublicKeyOf = %s, want %s", got, pk)
	}
	hmacSecret, _ := webhook.NewSecret()
	now := time.Now()
	h, err := webhook.Headers([]string{hmacSecret, sk}, "f1", now, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if sigs := h.Get(webhook.HeaderSignature); !strings.Contains(sigs, "v1,") || !strings.Contains(sigs, "v1a,") {
		t.Fatalf("signatures %q", sigs)
	}
	if err := webhook.Verify(pk, h, []byte("{}"), now); err != nil {
		t.Fatal(err)
	}
	if err := webhook.Verify(hmacSecret, h, []byte("{}"), now); err != nil {
		t.Fatal(err)
	}
	_, other, _ := webhook.NewSigningKey()
	if err := webhook.Verify(other, h, []byte("{}"), now); !errors.Is(err, webhook.ErrNoMatchingSigning) {
		t.Fatalf("another public key: %v", err)
	}
	if err := webhook.Verify(pk, h, []byte("{ }"), now); !errors.Is(err, webhook.ErrNoMatchingSigning) {
		t.Fatalf("changed body: %v", err)
	}
}
