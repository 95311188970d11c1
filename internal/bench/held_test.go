package bench_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
)

// BenchmarkHeldCallbacks measures what the embedded server's memory costs
// per callback held on QYS_CALLBACKS: it publishes N envelope-sized
// messages, each with its own Nats-Msg-Id, into a file stream with the
// given duplicate window and reports the Go heap in use (after a GC) and
// the process RSS grown per million held. N is QYSHOOK_BENCH_HELD
// (default 20,000; the README's figure used 200,000). Run with
// -benchtime=1x:
//
//	QYSHOOK_BENCH_HELD=200000 go test -run x -bench HeldCallbacks -benchtime 1x ./internal/bench/
func BenchmarkHeldCallbacks(b *testing.B) {
	n := 20000
	if s := os.Getenv("QYSHOOK_BENCH_HELD"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("QYSHOOK_BENCH_HELD=%q: want a positive count", s)
		}
		n = v
	}
	cases := []struct {
		name   string
		window time.Duration
		ids    bool
		wait   time.Duration
	}{
		// The default: every held callback's id is in the dedup map.
		{"msgid/window=48h", 48 * time.Hour, true, 0},
		// No ids: the stream's own cost per held message.
		{"no-msgid", 48 * time.Hour, false, 0},
		// A 1 min window, measured after it has passed: the ids are
		// dropped and only the stream's own cost is left.
		{"msgid/window=1m/after", time.Minute, true, 75 * time.Second},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.wait > 0 && testing.Short() {
				b.Skip("waits for the window to pass")
			}
			for range b.N {
				heap, rss := heldMemory(b, n, c.window, c.ids, c.wait)
				b.ReportMetric(heap/float64(n)*1e6/(1<<20), "heap-MiB/M")
				b.ReportMetric(rss/float64(n)*1e6/(1<<20), "rss-MiB/M")
			}
		})
	}
}

// heldMemory returns the heap and RSS growth, in bytes, of holding n
// messages (with distinct ids when ids is set) in a fresh embedded
// stream, measured wait after the last publish, and at least after the
// store's 10 s block cache has expired.
func heldMemory(b *testing.B, n int, window time.Duration, ids bool, wait time.Duration) (heap, rss float64) {
	b.Helper()
	ctx := context.Background()
	// The periodic sync only makes the run shorter: what is held in
	// memory does not depend on when the file is synced.
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: b.TempDir(), SyncInterval: 2 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	names := events.Names{Namespace: "held"}
	if err := names.Provision(ctx, js, events.StreamSettings{DuplicateWindow: window}); err != nil {
		b.Fatal(err)
	}
	// An envelope of the size the receiver stores for a contract callback.
	pad := strings.Repeat("x", 600)
	heap0, rss0 := memNow()
	pending := make([]jetstream.PubAckFuture, 0, 1024)
	flush := func() {
		for _, f := range pending {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		pending = pending[:0]
	}
	for i := range n {
		id := fmt.Sprintf("qys-%032x", i)
		msg := &nats.Msg{Subject: names.CallbackSubject("acme", events.KindContract, "SEAL"),
			Data: []byte(`{"id":"` + id + `","payload":"` + pad + `"}`)}
		var opts []jetstream.PublishOpt
		if ids {
			opts = append(opts, jetstream.WithMsgID(id))
		}
		f, err := js.PublishMsgAsync(msg, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if pending = append(pending, f); len(pending) == cap(pending) {
			flush()
		}
	}
	flush()
	info, err := js.Stream(ctx, names.CallbacksStream())
	if err != nil {
		b.Fatal(err)
	}
	if st, err := info.Info(ctx); err != nil || st.State.Msgs != uint64(n) {
		b.Fatalf("stream holds %v messages (err %v), want %d", st.State.Msgs, err, n)
	}
	time.Sleep(max(wait, 12*time.Second))
	heap1, rss1 := memNow()
	b.Logf("held %d (window %v, ids %v): heap +%.1f MiB, RSS +%.1f MiB", n, window, ids, (heap1-heap0)/(1<<20), (rss1-rss0)/(1<<20))
	return heap1 - heap0, rss1 - rss0
}

// memNow returns the Go heap in use after a collection and the process's
// resident set, in bytes.
func memNow() (heap, rss float64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				rss = kb * 1024
			}
		}
	}
	return float64(ms.HeapInuse), rss
}
