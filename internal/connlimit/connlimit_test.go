package connlimit_test

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/internal/connlimit"
)

// TestListenerRefusesBeyondMax: with Max 3, three connections are
// accepted and held, the fourth is answered 503 and closed, and closing
// one frees its slot for the next.
func TestListenerRefusesBeyondMax(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	l, err := connlimit.Wrap(ln, connlimit.Options{Max: 3, Name: "test", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var held []net.Conn
	for range 3 {
		dial()
		held = append(held, <-accepted)
	}
	over := dial()
	_ = over.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("connection over the cap: %v, want a 503 answer", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("connection over the cap answered %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if l.Open() != 3 || l.Refused() != 1 {
		t.Fatalf("open %d refused %d, want 3 and 1", l.Open(), l.Refused())
	}
	if v := metricValue(t, reg, "qyshook_http_connections_refused_total"); v != 1 {
		t.Errorf("refused metric %v, want 1", v)
	}
	_ = held[0].Close()
	_ = held[0].Close() // twice gives back one slot only
	dial()
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("a freed slot did not accept the next connection")
	}
	if l.Open() != 3 || l.Refused() != 1 {
		t.Fatalf("after one closed and one more: open %d refused %d, want 3 and 1", l.Open(), l.Refused())
	}
	if v := metricValue(t, reg, "qyshook_http_connections_open"); v != 3 {
		t.Errorf("open metric %v, want 3", v)
	}
}

func TestWrapRefusesZeroMax(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := connlimit.Wrap(ln, connlimit.Options{}); err == nil {
		t.Fatal("Wrap with Max 0 succeeded")
	}
}

// metricValue is the value of the one series named name in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			m := f.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
