package webhook_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/webhook"
)

// testProxy is an HTTP proxy: a request in absolute form for the host
// "203.0.113.10:8080" is forwarded to the receiver; one for "10.1.2.3" is
// answered 204 by the proxy itself; a CONNECT is recorded and refused.
type testProxy struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string // METHOD host
}

func newTestProxy(t *testing.T, receiver string) *testProxy {
	p := &testProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.Host)
		p.mu.Unlock()
		switch {
		case r.Method == http.MethodConnect:
			http.Error(w, "no tunnels here", http.StatusBadGateway)
		case r.Host == "203.0.113.10:8080":
			out, _ := http.NewRequestWithContext(r.Context(), r.Method, receiver+r.URL.Path, r.Body)
			out.Header = r.Header.Clone()
			resp, err := (&http.Transport{Proxy: nil}).RoundTrip(out)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestSenderUsesTheEnvironmentProxy: with HTTP_PROXY and HTTPS_PROXY set
// (as the TSA client honours them), attempts go through the proxy, plain
// http in absolute form and https as a CONNECT; the proxy, on a loopback
// address, is reached although the endpoint may not use private
// addresses. Before, the sender dialled the target directly.
func TestSenderUsesTheEnvironmentProxy(t *testing.T) {
	var got http.Header
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	p := newTestProxy(t, receiver.URL)
	t.Setenv("HTTP_PROXY", p.srv.URL)
	t.Setenv("HTTPS_PROXY", p.srv.URL)
	t.Setenv("NO_PROXY", "")
	secret, _ := webhook.NewSecret()
	s := webhook.NewSender(2*time.Second, false)
	defer s.Close()
	res := s.Send(t.Context(), webhook.Message{URL: "http://203.0.113.10:8080/hook", Secrets: []string{secret}, ID: "f1", Body: []byte("{}")})
	if !res.OK() || got.Get(webhook.HeaderID) != "f1" {
		t.Fatalf("through the proxy: %+v, the receiver got %v; the proxy saw %v", res, got, p.requests())
	}
	res = s.Send(t.Context(), webhook.Message{URL: "https://203.0.113.10/hook", Secrets: []string{secret}, ID: "f2", Body: []byte("{}")})
	if res.Err == nil || !contains(p.requests(), "CONNECT 203.0.113.10:443") {
		t.Fatalf("https through the proxy: %+v; the proxy saw %v", res, p.requests())
	}
}

// TestSenderThroughProxyRefusesPrivateTargets: through a proxy the dial
// goes to the proxy, so the target's address is checked before sending: a
// private target is refused (the proxy never sees it) unless allowed.
func TestSenderThroughProxyRefusesPrivateTargets(t *testing.T) {
	p := newTestProxy(t, "http://127.0.0.1:1")
	t.Setenv("HTTP_PROXY", p.srv.URL)
	t.Setenv("NO_PROXY", "")
	secret, _ := webhook.NewSecret()
	m := webhook.Message{URL: "http://10.1.2.3/hook", Secrets: []string{secret}, ID: "f1", Body: []byte("{}")}
	guarded := webhook.NewSender(2*time.Second, false)
	defer guarded.Close()
	if res := guarded.Send(t.Context(), m); !errors.Is(res.Err, webhook.ErrPrivateAddress) || len(p.requests()) != 0 {
		t.Fatalf("a private target through the proxy: %+v; the proxy saw %v", res, p.requests())
	}
	open := webhook.NewSender(2*time.Second, true)
	defer open.Close()
	if res := open.Send(t.Context(), m); res.Status != http.StatusNoContent || !contains(p.requests(), "POST 10.1.2.3") {
		t.Fatalf("a private target allowed, through the proxy: %+v; the proxy saw %v", res, p.requests())
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
