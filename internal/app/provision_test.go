package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natsconn"
)

// TestProvisionWaitsForClusterMetaLeader: on a fresh three-node cluster
// with only one node up there is no JetStream meta leader, so stream
// creation times out or is answered 503. Provisioning started then keeps
// retrying (each retry logged at info) and succeeds once the other two
// nodes join, with the streams at three replicas.
func TestProvisionWaitsForClusterMetaLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	ports := [3]int{freePort(t), freePort(t), freePort(t)}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	start := func(i int) *server.Server {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "qys", Host: "127.0.0.1", Port: ports[i]}, Routes: routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("n%d not ready", i+1)
		}
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		return s
	}
	n1 := start(0)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := natsconn.Connect(ctx, natsconn.Options{URL: n1.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	names, err := events.NewNames("")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s := &Services{Cfg: &config.Config{Stream: events.StreamSettings{Replicas: 3}}, Names: names, Conn: conn,
		Log: zerolog.New(&logs)}

	// Without the other nodes, one attempt fails as "not ready".
	err = s.provisionOnce(ctx, time.Second)
	if err == nil || !jetStreamNotReady(err) {
		t.Fatalf("one node of three: provisioning error %v, want JetStream not ready", err)
	}

	done := make(chan error, 1)
	go func() {
		done <- provisionUntilReady(ctx, s.Log, time.Minute, 2*time.Second, s.provisionOnce)
	}()
	// Let it retry at least once before the cluster can elect a leader.
	for !strings.Contains(logs.String(), "retrying") {
		select {
		case err := <-done:
			t.Fatalf("provisioning returned before the cluster was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	start(1)
	start(2)
	if err := <-done; err != nil {
		t.Fatalf("provisioning after the cluster formed: %v\n%s", err, logs.String())
	}
	for _, name := range []string{names.CallbacksStream(), names.LedgerStream(), names.DLQStream()} {
		st, err := conn.JS.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s: %d replicas, want 3", name, r)
		}
	}
	out := logs.String()
	if !strings.Contains(out, `"level":"info"`) || strings.Contains(out, `"level":"error"`) {
		t.Errorf("retries not logged at info:\n%s", out)
	}
}

// TestProvisionRefusalIsNotRetried: a configuration the server refuses
// fails at once instead of being retried until the deadline.
func TestProvisionRefusalIsNotRetried(t *testing.T) {
	calls := 0
	refused := &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use with a different configuration"}
	err := provisionUntilReady(context.Background(), zerolog.Nop(), time.Minute, time.Second, func(context.Context, time.Duration) error {
		calls++
		return fmt.Errorf("events: create stream X: %w", refused)
	})
	if !errors.Is(err, refused) || calls != 1 {
		t.Fatalf("refusal: %d calls, error %v; want 1 call and the refusal", calls, err)
	}
	calls = 0
	err = provisionUntilReady(context.Background(), zerolog.Nop(), 0, time.Second, func(context.Context, time.Duration) error {
		calls++
		return context.DeadlineExceeded
	})
	if !errors.Is(err, context.DeadlineExceeded) || calls != 1 {
		t.Fatalf("past the deadline: %d calls, error %v; want 1 call and the last error", calls, err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
