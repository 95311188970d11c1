package embeddednats

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/pidlock"
)

// TestOneServerPerStore: a second server on a store in use refuses to
// start, naming the holder's pid and the lock path; once the first shuts
// down the store can be opened again.
func TestOneServerPerStore(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Start(Options{StoreDir: dir})
	if err == nil {
		second.Shutdown()
		first.Shutdown()
		t.Fatal("a second embedded server started on a store in use")
	}
	if !errors.Is(err, pidlock.ErrHeld) || !strings.Contains(err.Error(), filepath.Join(dir, LockFile)) ||
		!strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("error %q: want the holder's pid and the lock path", err)
	}
	first.Shutdown()
	again, err := Start(Options{StoreDir: dir})
	if err != nil {
		t.Fatalf("start after shutdown: %v", err)
	}
	again.Shutdown()
}

// TestSync: every write is durable before it is used unless an interval
// is set: grouped in-process on Linux, also with a client port for
// subscribers; by nats-server itself with a client port whose clients may
// publish or when asked for each write. Before, any client port turned
// the grouped sync into each-write without a word.
func TestSync(t *testing.T) {
	for _, c := range []struct {
		name          string
		o             Options
		mode          string
		always, group bool
	}{
		{"default", Options{}, "grouped", true, groupSyncCheck(os.TempDir()) == ""},
		{"each write", Options{SyncInterval: SyncEachWrite}, "each-write", true, false},
		{"client port for subscribers", Options{ListenAddr: freeAddr(t)}, "grouped", true, groupSyncCheck(os.TempDir()) == ""},
		{"client port for publishers", Options{ListenAddr: freeAddr(t), ListenPublish: true}, "each-write", true, false},
		{"interval", Options{SyncInterval: time.Minute}, "1m0s", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.StoreDir = t.TempDir()
			s, err := Start(c.o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown()
			if !c.group && c.mode == "grouped" {
				c.mode = "each-write"
			}
			if s.SyncAlways() != c.always || (s.Syncer() != nil) != c.group || s.SyncMode() != c.mode {
				t.Fatalf("SyncAlways %v Syncer %v mode %q; want %v %v %q", s.SyncAlways(), s.Syncer() != nil, s.SyncMode(), c.always, c.group, c.mode)
			}
			// nats-server's own setting: fsync each write unless grouped
			// or relaxed.
			if own := s.current().JetStreamConfig().SyncAlways; own != (c.always && !c.group) {
				t.Fatalf("nats-server sync_always %v", own)
			}
		})
	}
}

// TestWrittenBeforePubAck pins what grouped syncing relies on: with
// nats-server's own fsync off, a message is already in its block file
// (written to the operating system) when its PubAck arrives, so a sync
// of the store after the PubAck makes it durable. A nats-server that
// buffered writes past the PubAck would fail here.
func TestWrittenBeforePubAck(t *testing.T) {
	dir := t.TempDir()
	if r := groupSyncCheck(dir); r != "" {
		t.Skip("not grouped here: " + r)
	}
	s, err := Start(Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "W", Subjects: []string{"w.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		marker := fmt.Sprintf("marker-%d-%d", i, time.Now().UnixNano())
		if _, err := js.Publish(ctx, "w.x", []byte(marker)); err != nil {
			t.Fatal(err)
		}
		blocks, _ := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", "W", "msgs", "*.blk"))
		found := false
		for _, b := range blocks {
			data, err := os.ReadFile(b)
			if err != nil {
				t.Fatal(err)
			}
			found = found || bytes.Contains(data, []byte(marker))
		}
		if !found {
			t.Fatalf("message %d not in any block file (%v) when its PubAck arrived", i, blocks)
		}
	}
}

// TestRestartKeepsClientsAndMessages: after Restart, a client from
// Connect reconnects to the new server by itself, the stream's stored
// messages are still there, it takes new ones, and the store lock is
// still held (no second process can open the store meanwhile).
func TestRestartKeepsClientsAndMessages(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := s.Connect(nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.1", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreError(); err != nil {
		t.Fatalf("StoreError on a healthy store: %v", err)
	}
	if err := s.ProbeDisk(); err != nil {
		t.Fatalf("ProbeDisk: %v", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Options{StoreDir: dir}); !errors.Is(err, pidlock.ErrHeld) {
		t.Fatalf("second server on the store after Restart: %v, want ErrHeld", err)
	}
	// No retry: Restart returns once the client has let go of the old
	// server, so the request waits for the new one (TestRequestRightAfterRestart).
	if _, err := js.Publish(ctx, "s.2", []byte("after")); err != nil {
		t.Fatalf("publish after Restart: %v", err)
	}
	st, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("%d messages after Restart, want 2 (one kept, one new)", n)
	}
	if err := s.StoreError(); err != nil {
		t.Fatalf("StoreError after Restart: %v", err)
	}
}

// TestRequestRightAfterRestart: a request sent as soon as Restart returns
// is answered, without a retry. Restart used to return while a client
// from Connect could still take itself for connected to the old server
// (it had not read the end of the closed in-process connection yet); the
// request was then written into that connection, nats.go dropped it on
// the write error, and the caller waited out its timeout (8 of 40
// restarts in a row). Restart now returns once every in-process client
// has let go of the old server, so a request waits in the client's
// reconnect buffer and reaches the new one.
func TestRequestRightAfterRestart(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := s.Connect(nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a safety net: a lost request is never answered
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 15 {
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "s.x", []byte("x")); err != nil {
			t.Fatalf("publish right after restart %d: %v", i+1, err)
		}
	}
}

// TestRestartWithAClientThatNeverLetsGo: an in-process connection its
// client reads but never closes (as nats.go leaves one whose handshake
// failed) holds Restart up for at most min(ReadyTimeout, clientLetGoWait), and only once: it is
// not waited for again.
func TestRestartWithAClientThatNeverLetsGo(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir(), ReadyTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	conn, err := s.InProcessConn()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() { _, _ = io.Copy(io.Discard, conn) }() // read, so the server is not held up writing to it
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	s.cmu.Lock()
	n := len(s.clients)
	s.cmu.Unlock()
	if n != 0 {
		t.Fatalf("%d in-process connections of the old server still tracked after Restart", n)
	}
	if err := s.StoreError(); err != nil {
		t.Fatalf("StoreError after Restart: %v", err)
	}
}

// TestFailedRestartIsReported: when the server cannot start again after a
// Restart, StoreError keeps reporting ErrStoreWrite (the condition the
// watcher restarts for), so a later Restart is tried; before, it asked the
// stopped server for its health, got an error that was not ErrStoreWrite,
// and the watcher never restarted it again.
func TestFailedRestartIsReported(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	boom := errors.New("cannot start")
	startServer = func(Options) (*server.Server, error) { return nil, boom }
	err = s.Restart()
	startServer = start
	if !errors.Is(err, boom) {
		t.Fatalf("Restart = %v, want the start error", err)
	}
	if err := s.StoreError(); !errors.Is(err, ErrStoreWrite) || !errors.Is(err, boom) {
		t.Fatalf("StoreError after a failed restart = %v, want ErrStoreWrite wrapping the start error", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("second Restart: %v", err)
	}
	if err := s.StoreError(); err != nil {
		t.Fatalf("StoreError after a good restart: %v", err)
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestSyncFailureFailsTheStore: after a failed sync, /readyz's check
// (StoreError) reports it for good, not as a write error an in-process
// restart would clear, and every later publish's sync fails.
func TestSyncFailureFailsTheStore(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if s.Syncer() == nil {
		t.Skip("not grouped here: " + s.SyncReason())
	}
	if err := s.StoreError(); err != nil {
		t.Fatal(err)
	}
	s.gs.flush = func() error { return errors.New("input/output error") }
	if err := s.Syncer().Sync(context.Background()); !errors.Is(err, ErrSync) {
		t.Fatalf("sync: %v", err)
	}
	err = s.StoreError()
	if !errors.Is(err, ErrSync) || errors.Is(err, ErrStoreWrite) {
		t.Fatalf("StoreError %v, want ErrSync and not ErrStoreWrite", err)
	}
}

// TestClientPortSubscribeOnly: through a client port without
// ListenPublish a client reads streams, creates a consumer and fetches
// and acknowledges messages, but every way of writing to the store is
// refused: publishing to a stream's subjects, creating, updating, purging
// or deleting a stream, deleting a message. In-process clients keep every
// right. With ListenPublish the port's clients publish.
func TestClientPortSubscribeOnly(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:-1", LedgerStreams: []string{"S"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inProc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer inProc.Close()
	ijs, _ := jetstream.New(inProc)
	cfg := jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage}
	if _, err := ijs.CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := ijs.Publish(ctx, "s.x", []byte("in-process")); err != nil {
			t.Fatal(err)
		}
	}

	nc, err := nats.Connect(s.ClientURL(), nats.Name("subscriber"), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	str, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatalf("stream info through the port: %v", err)
	}
	cons, err := str.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "sub", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("consumer through the port: %v", err)
	}
	batch, err := cons.Fetch(3, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack through the port: %v", err)
		}
		got++
	}
	if got != 3 {
		t.Fatalf("fetched %d messages through the port, want 3", got)
	}
	if _, err := str.GetMsg(ctx, 1); err != nil {
		t.Fatalf("message get through the port: %v", err)
	}
	// The ledger's consumers are the subscriber's to work: list, look up,
	// make ephemeral ones, delete.
	if _, err := nc.RequestWithContext(ctx, "$JS.API.CONSUMER.NAMES.S", nil); err != nil {
		t.Fatalf("consumer names through the port: %v", err)
	}
	if _, err := js.Consumer(ctx, "S", "sub"); err != nil {
		t.Fatalf("consumer info through the port: %v", err)
	}
	if _, err := str.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("ephemeral consumer through the port: %v", err)
	}
	if _, err := js.OrderedConsumer(ctx, "S", jetstream.OrderedConsumerConfig{}); err != nil {
		t.Fatalf("ordered consumer through the port: %v", err)
	}
	if err := js.DeleteConsumer(ctx, "S", "sub"); err != nil {
		t.Fatalf("consumer delete through the port: %v", err)
	}

	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 2*time.Second) }
	writes := map[string]func(context.Context) error{
		"publish": func(c context.Context) error { _, err := js.Publish(c, "s.x", []byte("outside")); return err },
		"core publish": func(c context.Context) error {
			if err := nc.Publish("s.y", []byte("outside")); err != nil {
				return err
			}
			return nc.FlushWithContext(c)
		},
		"create stream": func(c context.Context) error {
			_, err := js.CreateStream(c, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}})
			return err
		},
		"update stream": func(c context.Context) error {
			u := cfg
			u.MaxMsgs = 1
			_, err := js.UpdateStream(c, u)
			return err
		},
		"purge":          func(c context.Context) error { return str.Purge(c) },
		"delete message": func(c context.Context) error { return str.DeleteMsg(c, 1) },
		"delete stream":  func(c context.Context) error { return js.DeleteStream(c, "S") },
	}
	for name, write := range writes {
		c, cancel := short()
		err := write(c)
		cancel()
		if err == nil && name != "core publish" {
			t.Errorf("%s through the port: allowed, want refused", name)
		}
	}
	info, err := ijs.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 3 {
		t.Fatalf("stream holds %d messages after the port's attempts, want the 3 published in-process", n)
	}
	if _, err := ijs.Stream(ctx, "T"); err == nil {
		t.Fatal("a stream was created through the port")
	}
	if _, err := ijs.Publish(ctx, "s.x", []byte("in-process")); err != nil {
		t.Fatalf("in-process publish after: %v", err)
	}

	// Consumers and acks of any stream but the ledger are refused: the
	// callbacks stream with qyshook's own durable, the dead letters.
	for _, other := range []string{"QYS_CALLBACKS", "ns_QYS_DLQ"} {
		ocfg := jetstream.StreamConfig{Name: other, Subjects: []string{other + ".>"}, Storage: jetstream.FileStorage}
		ostr, err := ijs.CreateStream(ctx, ocfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ijs.Publish(ctx, other+".x", []byte("callback")); err != nil {
			t.Fatal(err)
		}
		if _, err := ostr.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "qyshook_ledger", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatal(err)
		}
		calls := map[string]func(context.Context) error{
			"create consumer": func(c context.Context) error {
				_, err := js.CreateOrUpdateConsumer(c, other, jetstream.ConsumerConfig{Durable: "sub", AckPolicy: jetstream.AckExplicitPolicy})
				return err
			},
			"ephemeral consumer": func(c context.Context) error {
				_, err := js.CreateOrUpdateConsumer(c, other, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
				return err
			},
			"update consumer": func(c context.Context) error {
				_, err := js.UpdateConsumer(c, other, jetstream.ConsumerConfig{Durable: "qyshook_ledger", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 1})
				return err
			},
			"consumer info":   func(c context.Context) error { _, err := js.Consumer(c, other, "qyshook_ledger"); return err },
			"delete consumer": func(c context.Context) error { return js.DeleteConsumer(c, other, "qyshook_ledger") },
			"consumer names": func(c context.Context) error {
				_, err := nc.RequestWithContext(c, "$JS.API.CONSUMER.NAMES."+other, nil)
				return err
			},
			"next message": func(c context.Context) error {
				_, err := nc.RequestWithContext(c, "$JS.API.CONSUMER.MSG.NEXT."+other+".qyshook_ledger", []byte(`{"batch":1,"expires":500000000}`))
				return err
			},
		}
		for name, call := range calls {
			c, cancel := short()
			err := call(c)
			cancel()
			if err == nil {
				t.Errorf("%s on %s through the port: allowed, want refused", name, other)
			}
		}
		// A forged ack (Term) of qyshook's delivery is dropped.
		if err := nc.Publish("$JS.ACK."+other+".qyshook_ledger.1.1.1.0.0", []byte("+TERM")); err != nil {
			t.Fatal(err)
		}
		_ = nc.FlushTimeout(2 * time.Second)
		cons, err := ijs.Consumer(ctx, other, "qyshook_ledger")
		if err != nil {
			t.Fatalf("qyshook's consumer on %s after the port's attempts: %v", other, err)
		}
		if md := cons.CachedInfo().Config.MaxDeliver; md == 1 {
			t.Errorf("qyshook's consumer on %s was changed through the port", other)
		}
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range b.Messages() {
			got++
			_ = m.Ack()
		}
		if got != 1 {
			t.Errorf("qyshook's consumer on %s fetched %d messages after the port's attempts, want 1", other, got)
		}
	}
}

// TestClientPortPublish: with ListenPublish the port's clients publish
// (and the store syncs each write itself: TestSync).
func TestClientPortPublish(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:-1", ListenPublish: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.x", []byte("outside")); err != nil {
		t.Fatalf("publish through a publishing port: %v", err)
	}
}
