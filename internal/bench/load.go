package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
)

// source hands out request bodies: pre-built for a Count run, built on
// demand for a Duration run.
type source struct {
	secret      string
	contentType string
	bodies      [][]byte
	next        atomic.Int64
	deadline    time.Time
	duration    time.Duration
	base        int64
}

func newSource(o BenchOptions) (*source, error) {
	s := &source{secret: o.Secret, duration: o.Duration}
	probe, err := callback(o.Secret, -1, time.Now())
	if err != nil {
		return nil, err
	}
	s.contentType = probe.ContentType
	for i := 0; i < o.Count && o.Duration <= 0; i++ {
		out, err := callback(o.Secret, i, time.Now())
		if err != nil {
			return nil, err
		}
		s.bodies = append(s.bodies, out.Body)
	}
	return s, nil
}

// start begins a run.
func (s *source) start() {
	if s.duration > 0 {
		s.deadline = time.Now().Add(s.duration)
	}
}

// reset lets the bodies be sent again (the no-op run).
func (s *source) reset() { s.base += s.next.Swap(0) + 1 }

// body returns the next body, or nil when the run is over.
func (s *source) body() []byte {
	i := s.next.Add(1) - 1
	if s.duration <= 0 {
		if int(i) >= len(s.bodies) {
			return nil
		}
		return s.bodies[i]
	}
	if time.Now().After(s.deadline) {
		return nil
	}
	out, err := callback(s.secret, int(s.base+i), time.Now())
	if err != nil {
		return nil
	}
	return out.Body
}

// run is one load run's measurements.
type run struct {
	ok, errors int
	elapsed    time.Duration
	latencies  []time.Duration
	// cpu is the process CPU time used while the load ran.
	cpu time.Duration
}

// cpuPerRequest is the process CPU time per answered request.
func (r *run) cpuPerRequest() time.Duration {
	if r.ok+r.errors == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ok+r.errors)
}

func (r *run) perSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

func (r *run) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(float64(len(r.latencies)-1)*p)]
}

// serveAndLoad serves h on 127.0.0.1:0 with the server qyshook serve
// uses (app.Server: its timeouts and connection limit) and sends src's
// bodies to path.
func serveAndLoad(ctx context.Context, h http.Handler, path string, o BenchOptions, src *source) (*run, error) {
	srv := app.NewServer("127.0.0.1:0", h, zerolog.Nop())
	if err := srv.Open(); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return load(ctx, srv.URL()+path, o, src)
}

// bareAndLoad serves BareNoop on a plain http.Server (no router, no
// middleware, no connection limit, no timeouts) on 127.0.0.1:0 and sends
// src's bodies to it: the bare net/http baseline.
func bareAndLoad(ctx context.Context, o BenchOptions, src *source) (*run, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	srv := &http.Server{Handler: BareNoop()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}()
	return load(ctx, "http://"+ln.Addr().String()+"/", o, src)
}

// BareNoop is the bare net/http no-op every figure of bench receiver is
// also a ratio to: a plain handler that reads the whole body and answers
// what the receiver answers a contract callback (200, text/plain,
// "success"). Serve it on a plain http.Server to reproduce the baseline
// with another load generator.
func BareNoop() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(success)
	}
}

var success = []byte("success")

// load sends src's bodies to url over o.Concurrency keep-alive
// connections, one request at a time on each.
func load(ctx context.Context, url string, o BenchOptions, src *source) (*run, error) {
	tr := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		mu  sync.Mutex
		out = &run{}
		wg  sync.WaitGroup
	)
	src.start()
	cpu0 := ProcessCPU()
	start := time.Now()
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var ok, bad int
			for ctx.Err() == nil {
				body := src.body()
				if body == nil {
					break
				}
				t0 := time.Now()
				if send(client, url, src.contentType, body) {
					ok++
				} else {
					bad++
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			out.ok, out.errors = out.ok+ok, out.errors+bad
			out.latencies = append(out.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	out.cpu = ProcessCPU() - cpu0
	slices.Sort(out.latencies)
	return out, ctx.Err()
}

// send posts one body and reports whether it was answered 200 success.
func send(c *http.Client, url, contentType string, body []byte) bool {
	resp, err := c.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var buf [16]byte
	n, _ := io.ReadFull(resp.Body, buf[:])
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK && string(buf[:n]) == "success"
}
