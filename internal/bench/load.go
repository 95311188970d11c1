package bench

import (
	"bytes"
	"context"
	"io"
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

// serveAndLoad serves h on 127.0.0.1:0 and sends src's bodies to path.
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
	tr := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := srv.URL() + path
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
