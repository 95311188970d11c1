package app_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/health"
)

// TestServerCapsConnections (issue 11: 5,000 idle keep-alive connections
// raised memory from 78 to 143 MiB and kept it): 5,000 clients each make
// one request and keep their connection. The server holds the first
// QYSHOOK_MAX_CONNS (default 2048) and answers every other one 503 and
// closes it, instead of holding all 5,000.
func TestServerCapsConnections(t *testing.T) {
	const clients = 5000
	raiseNoFile(t, 2*clients+256)
	srv := app.NewServer("127.0.0.1:0", health.Handler(health.Options{}), zerolog.Nop())
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })

	conns := openIdle(t, srv.Addr(), clients)
	var served, refused, other int
	for _, c := range conns {
		switch c.status {
		case http.StatusOK:
			served++
		case http.StatusServiceUnavailable:
			refused++
		default:
			other++
		}
	}
	if served != config.DefaultMaxConns || refused != clients-config.DefaultMaxConns || other != 0 {
		t.Fatalf("%d clients: %d served and held, %d refused (503), %d other; want %d held and %d refused",
			clients, served, refused, other, config.DefaultMaxConns, clients-config.DefaultMaxConns)
	}
	if n := srv.OpenConns(); n != config.DefaultMaxConns {
		t.Errorf("server holds %d connections, want %d", n, config.DefaultMaxConns)
	}
	if n := srv.RefusedConns(); n != int64(refused) {
		t.Errorf("server counted %d refused, clients saw %d", n, refused)
	}
}

// TestServerClosesIdleConnections: every keep-alive connection left idle
// is closed by the server after the idle timeout (no client closes any),
// the open-connections gauge returns to 0, and the slots serve new
// clients. Counts only: the wait is bounded but not measured.
func TestServerClosesIdleConnections(t *testing.T) {
	const clients = 100
	reg := prometheus.NewRegistry()
	srv := app.NewServerWith("127.0.0.1:0", health.Handler(health.Options{}), zerolog.Nop(),
		app.ServerOptions{MaxConns: clients, IdleTimeout: time.Second, Registerer: reg})
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })

	conns := openIdle(t, srv.Addr(), clients)
	if open := gauge(t, reg, "qyshook_http_connections_open"); open != clients {
		t.Fatalf("open connections gauge %v after %d requests, want %d", open, clients, clients)
	}
	closedByServer := 0
	for _, c := range conns {
		if c.status != http.StatusOK {
			t.Fatalf("status %d, want 200 (under the cap)", c.status)
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := c.r.ReadByte(); errors.Is(err, io.EOF) {
			closedByServer++
		}
	}
	if closedByServer != clients {
		t.Fatalf("%d of %d idle connections closed by the server, want all", closedByServer, clients)
	}
	deadline := time.Now().Add(time.Minute)
	for srv.OpenConns() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if open := gauge(t, reg, "qyshook_http_connections_open"); open != 0 {
		t.Fatalf("open connections gauge %v after the idle timeout, want 0", open)
	}
	again := openIdle(t, srv.Addr(), clients)
	for _, c := range again {
		if c.status != http.StatusOK {
			t.Fatalf("after the idle connections closed: status %d, want 200", c.status)
		}
	}
	if refused := gauge(t, reg, "qyshook_http_connections_refused_total"); refused != 0 {
		t.Errorf("refused %v, want 0", refused)
	}
}

// idleConn is a client connection after one request, kept open.
type idleConn struct {
	conn   net.Conn
	r      *bufio.Reader
	status int
}

// openIdle opens n connections, each sending one keep-alive GET /healthz
// and reading the answer, and keeps them open until the test ends.
func openIdle(t *testing.T, addr string, n int) []idleConn {
	t.Helper()
	out := make([]idleConn, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					continue
				}
				out[i] = idleConn{conn: c, r: bufio.NewReader(c)}
				_ = c.SetDeadline(time.Now().Add(time.Minute))
				if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: qyshook\r\n\r\n"); err != nil {
					continue // refused and closed before the request was written
				}
				resp, err := http.ReadResponse(out[i].r, nil)
				if err != nil {
					continue // status 0: closed without an answer
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				out[i].status = resp.StatusCode
				_ = c.SetDeadline(time.Time{})
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range out {
			if c.conn != nil {
				_ = c.conn.Close()
			}
		}
	})
	if firstErr != nil {
		t.Fatalf("dial: %v", firstErr)
	}
	return out
}

// raiseNoFile raises the soft limit of open files to at least n (both
// ends of every loopback connection are in this process).
func raiseNoFile(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("open files hard limit %d < %d", lim.Max, n)
	}
	old := lim.Cur
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lim.Cur = old; _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
}

// gauge is the value of the one series named name in reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
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
