package receiver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natsconn"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/receiver"
)

// ownedNATS is an embedded server the test stops and restarts on the same
// port and store, with a reconnecting natsconn client.
type ownedNATS struct {
	store, addr string
	srv         *embeddednats.Server
	conn        *natsconn.Conn
	names       events.Names
}

func startOwnedNATS(t *testing.T) *ownedNATS {
	t.Helper()
	o := &ownedNATS{store: t.TempDir()}
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: o.store, ListenAddr: "127.0.0.1:-1", ListenPublish: true})
	if err != nil {
		t.Fatal(err)
	}
	o.srv = srv
	o.addr = strings.TrimPrefix(srv.ClientURL(), "nats://")
	t.Cleanup(func() { o.srv.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o.conn, err = natsconn.Connect(ctx, natsconn.Options{URL: srv.ClientURL(), ReconnectWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.conn.Close() })
	o.names, _ = events.NewNames(natstest.RandomNamespace())
	if err := o.names.Provision(ctx, o.conn.JS, natstest.TestStreamSettings()); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *ownedNATS) restart(t *testing.T) {
	t.Helper()
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: o.store, ListenAddr: o.addr, ListenPublish: true})
	if err != nil {
		t.Fatalf("restart on %s: %v", o.addr, err)
	}
	o.srv = srv
}

func (o *ownedNATS) env() *natstest.Env {
	return &natstest.Env{NC: o.conn.NC, JS: o.conn.JS, Names: o.names}
}

// streamReachable reports whether the client is connected and the
// callbacks stream answers (what /readyz checks).
func (o *ownedNATS) streamReachable() bool {
	if !o.conn.NC.IsConnected() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := o.conn.JS.Stream(ctx, o.names.CallbacksStream())
	return err == nil
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNATSDownAnswers503Fast(t *testing.T) {
	o := startOwnedNATS(t)
	h := newHarness(t, o.env())
	o.srv.Shutdown()
	waitFor(t, "disconnect", 5*time.Second, func() bool { return !o.conn.NC.IsConnected() })
	start := time.Now()
	got := h.send(t, baselineCase())
	if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, `"error":"unavailable"`) {
		t.Fatalf("answer %d %q, want 503", got.status, got.body)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("503 took %v: must not wait for the publish timeout", d)
	}
}

type result struct {
	contractID string
	status     int
	start, end time.Time
}

// TestOutageRecovery stops NATS while callbacks keep arriving, restarts it
// on the same port and store, and checks that the receiver answered 503
// throughout the outage, recovered by itself, and stored every success.
func TestOutageRecovery(t *testing.T) {
	o := startOwnedNATS(t)
	h := newHarness(t, o.env(), func(o *receiver.Options) { o.PublishTimeout = 500 * time.Millisecond })
	var (
		mu      sync.Mutex
		results []result
		seq     atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("outage-%d", seq.Add(1))
				c := baselineCase()
				c.payload = contractPayload(id, "SEAL", "SIGNING")
				out := mustBuild(t, c.sender, c.payload, time.Now())
				start := time.Now()
				resp, err := client.Post(h.http.URL+c.path, out.ContentType, strings.NewReader(string(out.Body)))
				status := 0
				if err == nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				results = append(results, result{id, status, start, time.Now()})
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	o.srv.Shutdown()
	waitFor(t, "disconnect", 10*time.Second, func() bool { return !o.conn.NC.IsConnected() })
	outageStart := time.Now()
	time.Sleep(1500 * time.Millisecond)
	outageEnd := time.Now()
	o.restart(t)
	waitFor(t, "stream reachable after restart", 20*time.Second, func() bool { return o.streamReachable() })
	recovered := time.Now()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	var during, successAfter int
	success := map[string]bool{}
	for _, r := range results {
		if r.start.After(outageStart) && r.end.Before(outageEnd) {
			during++
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("request during the outage answered %d, want 503", r.status)
			}
		}
		if r.status == http.StatusOK {
			success[r.contractID] = true
			if r.start.After(recovered) {
				successAfter++
			}
		}
	}
	if during == 0 || successAfter == 0 {
		t.Fatalf("outage requests %d, successes after recovery %d: want both > 0", during, successAfter)
	}
	stored := map[string]int{}
	for _, m := range storedEnvelopes(t, o.conn.JS, o.names) {
		env, err := events.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		stored[env.ContractID]++
	}
	for id := range success {
		if stored[id] != 1 {
			t.Errorf("success %s stored %d times", id, stored[id])
		}
	}
	t.Logf("%d requests, %d during the outage, %d successes, %d stored", len(results), during, len(success), len(stored))
}
