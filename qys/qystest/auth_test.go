package qystest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

func TestAuthHeaders(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	type tc struct {
		method        string
		token, secret string
		ts            time.Time
		nonce         string
		drop          string
		status, code  int
	}
	tests := []struct {
		name   string
		modify func(*tc)
	}{
		{"OK", func(c *tc) {}},
		{"OKThreeHeaders", func(c *tc) { c.nonce, c.drop = "", "x-qys-open-nonce" }},
		{"ErrThreeHeadersWrongSecret", func(c *tc) { c.nonce, c.drop, c.secret, c.status, c.code = "", "x-qys-open-nonce", "wrong", 442, 442 }},
		{"ErrThreeHeadersStale", func(c *tc) {
			c.nonce, c.drop, c.ts, c.status, c.code = "", "x-qys-open-nonce", time.Now().Add(-16*time.Minute), 442, 442
		}},
		{"ErrNonceDroppedAfterSigning", func(c *tc) { c.drop, c.status, c.code = "x-qys-open-nonce", 442, 442 }},
		{"ErrMissingTimestamp", func(c *tc) { c.drop, c.status, c.code = "x-qys-open-timestamp", 441, 441 }},
		{"ErrMissingSignature", func(c *tc) { c.drop, c.status, c.code = "x-qys-open-signature", 441, 441 }},
		{"ErrUnknownToken", func(c *tc) { c.token, c.status, c.code = "nobody", 442, 442 }},
		{"ErrWrongSecret", func(c *tc) { c.secret, c.status, c.code = "wrong", 442, 442 }},
		{"ErrStaleTimestamp", func(c *tc) { c.ts, c.status, c.code = time.Now().Add(-16*time.Minute), 442, 442 }},
		{"ErrFutureTimestamp", func(c *tc) { c.ts, c.status, c.code = time.Now().Add(16*time.Minute), 442, 442 }},
		{"OKSkewed", func(c *tc) { c.ts = time.Now().Add(-14 * time.Minute) }},
		{"ErrMethod", func(c *tc) { c.method, c.status, c.code = http.MethodPost, 405, qys.CodeParamError }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tc{method: http.MethodGet, token: srv.AppToken, secret: srv.AppSecret,
				ts: time.Now(), nonce: tt.name + "-nonce", status: 200, code: 0}
			tt.modify(&c)
			h := signedHeaders(c.token, c.secret, c.ts, c.nonce)
			if c.drop != "" {
				h.Del(c.drop)
			}
			a := rawDo(t, c.method, srv.URL+"/v2/contract/detail?contractId="+id, h)
			if a.Status != c.status || a.Code != c.code {
				t.Fatalf("got HTTP %d code %d (%s), want HTTP %d code %d", a.Status, a.Code, a.Msg, c.status, c.code)
			}
		})
	}
}

// TestNonceRequired: with WithNonceRequired the three-header form is
// refused with 441, as the public-cloud protocol page describes.
func TestNonceRequired(t *testing.T) {
	srv := MustServer(t, qystest.WithNonceRequired())
	id := MustContract(t, srv, nil)
	h := signedHeaders(srv.AppToken, srv.AppSecret, time.Now(), "")
	h.Del("x-qys-open-nonce")
	if a := rawDo(t, http.MethodGet, srv.URL+"/v2/contract/detail?contractId="+id, h); a.Status != 441 || a.Code != 441 {
		t.Fatalf("three headers: HTTP %d code %d (%s), want 441", a.Status, a.Code, a.Msg)
	}
	if _, err := MustClient(t, srv).ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id}); err != nil {
		t.Fatalf("four headers: %v", err)
	}
}

func TestReusedNonce(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	h := signedHeaders(srv.AppToken, srv.AppSecret, time.Now(), "same-nonce")
	url := srv.URL + "/v2/contract/detail?contractId=" + id
	if a := rawDo(t, http.MethodGet, url, h); a.Status != 200 || a.Code != 0 {
		t.Fatalf("first: HTTP %d code %d", a.Status, a.Code)
	}
	if a := rawDo(t, http.MethodGet, url, h); a.Status != 442 || a.Code != qys.CodeInvalidToken {
		t.Fatalf("replay: HTTP %d code %d, want 442", a.Status, a.Code)
	}
}

// TestNonceRememberedForWindow: a replay is refused for as long as its
// timestamp is inside the window, not only for the nonce TTL (a request
// replayed after 11 minutes was accepted), and the nonce is forgotten
// once the timestamp is out of the window.
func TestNonceRememberedForWindow(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	srv := MustServer(t, qystest.WithClock(clk.Now), qystest.WithNonceTTL(10*time.Minute),
		qystest.WithTimestampWindow(15*time.Minute))
	id := MustContract(t, srv, nil)
	h := signedHeaders(srv.AppToken, srv.AppSecret, clk.Now(), "n1")
	url := srv.URL + "/v2/contract/detail?contractId=" + id
	if a := rawDo(t, http.MethodGet, url, h); a.Code != 0 {
		t.Fatalf("first: code %d (%s)", a.Code, a.Msg)
	}
	clk.Advance(11 * time.Minute) // past the nonce TTL, timestamp still inside ±15 min
	if a := rawDo(t, http.MethodGet, url, h); a.Status != 442 || a.Msg != "NONCE ALREADY USED" {
		t.Fatalf("replay after 11 min: HTTP %d code %d (%s), want 442 NONCE ALREADY USED", a.Status, a.Code, a.Msg)
	}
	clk.Advance(5 * time.Minute) // 16 min: the timestamp is out of the window
	if a := rawDo(t, http.MethodGet, url, h); a.Status != 442 || a.Msg != "INVALID TIMESTAMP" {
		t.Fatalf("replay after 16 min: HTTP %d (%s), want 442 INVALID TIMESTAMP", a.Status, a.Msg)
	}
	fresh := signedHeaders(srv.AppToken, srv.AppSecret, clk.Now(), "n1")
	if a := rawDo(t, http.MethodGet, url, fresh); a.Code != 0 {
		t.Fatalf("same nonce, new timestamp after the window: code %d (%s), want 0", a.Code, a.Msg)
	}
}

func TestClientSignatureAccepted(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	got, err := MustClient(t, srv).ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := srv.Contract(id)
	if got.ID != want.ID || got.Subject != "采购合同" || got.Status != lifecycle.Draft ||
		len(got.Signatories) != 2 || len(got.Documents) != 1 || got.BusinessData != "bd-42" {
		t.Fatalf("detail = %+v", got)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Status != 200 || reqs[0].Header.Get("x-qys-open-nonce") == "" {
		t.Fatalf("requests = %+v", reqs)
	}
}

func TestClientWrongSecret(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	c, err := qys.NewClient(srv.URL, srv.AppToken, "not-the-secret", qys.WithRetries(1, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id})
	if !errors.Is(err, qys.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

func TestClientStaleClock(t *testing.T) {
	clk := &fakeClock{t: time.Now().Add(time.Hour)}
	srv := MustServer(t, qystest.WithClock(clk.Now))
	id := MustContract(t, srv, nil)
	_, err := MustClient(t, srv).ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id})
	if !errors.Is(err, qys.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

func TestPrivateCloud(t *testing.T) {
	srv := MustServer(t, qystest.WithPrivateCloud())
	id := MustContract(t, srv, nil)
	got, err := MustClient(t, srv).ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.ID) != id {
		t.Fatalf("id = %q, want %q", got.ID, id)
	}
	r := srv.Requests()[0]
	if r.Path != "/contract/detail" || r.Header.Get("x-qys-accesstoken") != srv.AppToken {
		t.Fatalf("request = %s %v", r.Path, r.Header)
	}

	t.Run("ErrPublicClient", func(t *testing.T) {
		c, err := qys.NewClient(srv.URL, srv.AppToken, srv.AppSecret, qys.WithRetries(0, time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id}); err == nil {
			t.Fatal("public-cloud client accepted by a private-cloud fake")
		}
	})
}
