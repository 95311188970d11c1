package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestSenderSignsAsHeaders: a Sender's cached keys and reused HMACs give
// the signatures Headers gives, for the specification's vector, during a
// rotation (two secrets and an Ed25519 key), message after message and
// from many goroutines at once; a bad secret is refused every time.
func TestSenderSignsAsHeaders(t *testing.T) {
	const vecSecret, vecID, vecTS, vecBody = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`
	var s signer
	got, err := s.signatures([]string{vecSecret}, vecID, vecTS, []byte(vecBody))
	if err != nil || got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("spec vector: %q %v", got, err)
	}
	a, _ := NewSecret()
	b, _ := NewSecret()
	sk, _, err := NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{a, b, sk}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id, ts, body := "f"+string(rune('a'+g)), time.Unix(int64(1700000000+i), 0), []byte(`{"n":`+string(rune('0'+i%10))+`}`)
				want, err := Headers(secrets, id, ts, body)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := s.signatures(secrets, id, ts.Unix(), body)
				if err != nil || got != want.Get(HeaderSignature) {
					t.Errorf("message %d of %d: %q, want %q (%v)", i, g, got, want.Get(HeaderSignature), err)
					return
				}
			}
		})
	}
	wg.Wait()
	for range 2 {
		if _, err := s.signatures([]string{a, "whsec_short"}, "f1", 1, nil); err != ErrBadSecret {
			t.Fatalf("bad secret: %v", err)
		}
	}
	if _, err := s.signatures(nil, "f1", 1, nil); err != ErrBadSecret {
		t.Fatalf("no secret: %v", err)
	}
}

// TestSendHeaders: what reaches the endpoint verifies, and an extra
// header cannot replace a webhook-* or Content-Type header, whatever its
// case.
func TestSendHeaders(t *testing.T) {
	secret, _ := NewSecret()
	got := make(chan http.Header, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := NewSender(5*time.Second, true)
	defer s.Close()
	for range 2 {
		res := s.Send(context.Background(), Message{URL: srv.URL, Secrets: []string{secret}, ID: "f1", Body: []byte("{}"),
			Headers: map[string]string{"webhook-id": "forged", "Webhook-Signature": "v1,forged", "content-type": "text/plain", "X-Tenant": "t1"}})
		if !res.OK() {
			t.Fatalf("send: %+v", res)
		}
		h := <-got
		if err := Verify(secret, h, []byte("{}"), time.Now()); err != nil {
			t.Fatalf("verify: %v (%v)", err, h)
		}
		if h.Get(HeaderID) != "f1" || len(h.Values(HeaderID)) != 1 || h.Get(HeaderSignature) == "v1,forged" ||
			h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != UserAgent || h.Get("X-Tenant") != "t1" {
			t.Fatalf("headers: %v", h)
		}
	}
}
