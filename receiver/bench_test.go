package receiver_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/receiver"
)

// BenchmarkReceiver posts distinct signed, encrypted contract callbacks in
// parallel over keep-alive HTTP; each op is answered after its PubAck.
func BenchmarkReceiver(b *testing.B) {
	h := newHarness(b, nil)
	bodies := make([][]byte, b.N)
	var ct string
	now := time.Now()
	for i := range bodies {
		out := mustBuild(b, senderA(secretA), contractPayload("bench-"+now.Format("150405.000")+"-"+itoa(i), "SEAL", "SIGNING"), now)
		bodies[i], ct = out.Body, out.ContentType
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := h.http.URL + "/callbacks/acme/contract"
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)-1]
			resp, err := client.Post(url, ct, bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// BenchmarkHandlerGrouped calls the receiver's handler directly (no HTTP
// stack) with distinct signed, encrypted contract callbacks, in parallel,
// on an embedded server in grouped-sync mode when the platform has it:
// the receiver's own CPU and allocations per callback, synced.
func BenchmarkHandlerGrouped(b *testing.B) {
	env, grouped := natstest.NewGrouped(b)
	if !grouped {
		b.Log("grouped sync unavailable here: each-write")
	}
	rc, err := receiver.New(receiver.Options{Tenants: testTenants(b), Publisher: env.JS, Names: env.Names})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, b.N)
	var ct string
	now := time.Now()
	for i := range bodies {
		out := mustBuild(b, senderA(secretA), contractPayload("bench-"+now.Format("150405.000")+"-"+itoa(i), "SEAL", "SIGNING"), now)
		bodies[i], ct = out.Body, out.ContentType
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	defer func() { b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/callbacks/acme/contract", bytes.NewReader(bodies[next.Add(1)-1]))
			r.Header.Set("Content-Type", ct)
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// processCPU is the process's user and system CPU time so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
