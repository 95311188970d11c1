package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natsconn"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

// Defaults for BenchOptions.
const (
	DefaultConcurrency = 64
	DefaultCount       = 20000
	DefaultSecret      = "qyshookbench0123"
	DefaultTenant      = "bench"
)

// BenchOptions configures RunReceiver.
type BenchOptions struct {
	// Concurrency is the number of keep-alive connections, each sending
	// one request at a time (default 64).
	Concurrency int
	// Count is the number of callbacks to send (default 20,000 when
	// Duration is zero). They are built before the clock starts.
	Count int
	// Duration, when set, sends callbacks for this long instead of Count;
	// they are then built during the run (client cost included).
	Duration time.Duration
	// Tenant and Secret configure the benchmark tenant (defaults "bench"
	// and a fixed 16-character secret).
	Tenant string
	Secret string
	// Dir holds the JetStream store (default: a temporary directory,
	// removed afterwards).
	Dir string
	// SkipNoop skips the no-op baseline.
	SkipNoop bool
	// SyncInterval, when positive, lets the embedded server fsync at that
	// interval instead of on every write (QYSHOOK_NATS_SYNC); zero, the
	// default as in production, syncs every write before its PubAck.
	SyncInterval time.Duration
	// NATSURL, when set, runs the receiver against that NATS server or
	// cluster instead of an embedded one (SyncInterval is then unused:
	// the servers' own settings and Replicas are the durability). Its
	// streams get a namespace of their own and are deleted afterwards.
	NATSURL string
	// Replicas is the streams' replication factor with NATSURL (default 1).
	Replicas int
	// ListenAccess opens a client port on the embedded server
	// (QYSHOOK_EMBEDDED_NATS_ADDR on a free port) whose clients may
	// "subscribe" (QYSHOOK_EMBEDDED_NATS_ACCESS's default) or "publish";
	// "" opens none.
	ListenAccess string
	// Logger receives the receiver's logs (zero value: none, which is
	// what the numbers assume).
	Logger zerolog.Logger
}

func (o *BenchOptions) defaults() error {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Count <= 0 && o.Duration <= 0 {
		o.Count = DefaultCount
	}
	if o.Tenant == "" {
		o.Tenant = DefaultTenant
	}
	if o.Secret == "" {
		o.Secret = DefaultSecret
	}
	if len(o.Secret) != config.SecretLen {
		return fmt.Errorf("bench: secret must be %d characters", config.SecretLen)
	}
	return nil
}

// Result is the outcome of RunReceiver.
type Result struct {
	// Concurrency is the number of connections used.
	Concurrency int
	// Sync is the embedded store's fsync policy: "always" or an interval.
	Sync string
	// Callbacks is the number of callbacks answered success (acked).
	Callbacks int
	// Errors counts requests that failed or were not answered success.
	Errors int
	// Elapsed is the wall time of the receiver run.
	Elapsed time.Duration
	// PerSec is acknowledged callbacks per second.
	PerSec float64
	// P50 and P99 are request latencies seen by the client.
	P50, P99 time.Duration
	// Stored is the number of messages on the callbacks stream afterwards.
	Stored uint64
	// NoopPerSec is the no-op handler's requests per second on the same
	// HTTP stack; NoopP50 and NoopP99 its latencies.
	NoopPerSec       float64
	NoopP50, NoopP99 time.Duration
	// Ratio is PerSec / NoopPerSec: the share of the bare HTTP throughput
	// left once callbacks are verified and acknowledged by JetStream.
	Ratio float64
}

// String formats the result for a terminal.
func (r *Result) String() string {
	s := fmt.Sprintf("receiver (sync %s): %d callbacks acked at concurrency %d in %v: %.0f callbacks/s, p50 %v, p99 %v, errors %d, stored %d",
		r.Sync, r.Callbacks, r.Concurrency, r.Elapsed.Round(time.Millisecond), r.PerSec, r.P50.Round(10*time.Microsecond),
		r.P99.Round(10*time.Microsecond), r.Errors, r.Stored)
	if r.NoopPerSec > 0 {
		s += fmt.Sprintf("\nno-op:    %.0f requests/s, p50 %v, p99 %v; receiver/no-op ratio %.2f",
			r.NoopPerSec, r.NoopP50.Round(10*time.Microsecond), r.NoopP99.Round(10*time.Microsecond), r.Ratio)
	}
	return s
}

// RunReceiver starts a receiver on 127.0.0.1:0 with an embedded JetStream
// (file storage), sends distinct signed and encrypted format-A callbacks
// over keep-alive HTTP at the given concurrency, then does the same
// against a no-op handler, and reports both.
func RunReceiver(ctx context.Context, o BenchOptions) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	st, err := newReceiverStack(ctx, o, o.SyncInterval)
	if err != nil {
		return nil, err
	}
	defer st.close()
	rc, conn, names := st.handler, st.conn, st.names
	res := &Result{Concurrency: o.Concurrency, Sync: syncName(o.SyncInterval)}
	src, err := newSource(o)
	if err != nil {
		return nil, err
	}
	run, err := serveAndLoad(ctx, rc, "/callbacks/"+o.Tenant+"/contract", o, src)
	if err != nil {
		return nil, err
	}
	res.Callbacks, res.Errors, res.Elapsed, res.PerSec, res.P50, res.P99 = run.ok, run.errors, run.elapsed, run.perSec(), run.pct(0.50), run.pct(0.99)
	if res.Stored, err = streamMsgs(ctx, conn, names); err != nil {
		return nil, err
	}
	if !o.SkipNoop {
		src.reset()
		noop, err := serveAndLoad(ctx, receiver.NewNoopHandler(o.Logger, receiver.DefaultMaxBody), "/noop", o, src)
		if err != nil {
			return nil, err
		}
		res.NoopPerSec, res.NoopP50, res.NoopP99 = noop.perSec(), noop.pct(0.50), noop.pct(0.99)
		if res.NoopPerSec > 0 {
			res.Ratio = res.PerSec / res.NoopPerSec
		}
	}
	return res, nil
}

// receiverStack is a receiver on its own embedded JetStream (file
// storage) in a directory of its own.
type receiverStack struct {
	handler *receiver.Receiver
	conn    *natsconn.Conn
	names   events.Names
	undo    []func()
}

func newReceiverStack(ctx context.Context, o BenchOptions, syncInterval time.Duration) (st *receiverStack, err error) {
	st = &receiverStack{}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "qyshook-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		st.undo = append(st.undo, func() { os.RemoveAll(tmp) })
		dir = tmp
	} else {
		dir = filepath.Join(dir, "sync-"+syncName(syncInterval)+portName(o.ListenAccess)) // a store per setting
	}
	copts := natsconn.Options{EmbeddedStoreDir: dir, Name: "qyshook-bench", EmbeddedSyncInterval: syncInterval}
	if o.ListenAccess != "" {
		copts.EmbeddedListenAddr, copts.EmbeddedListenPublish = "127.0.0.1:-1", o.ListenAccess == "publish"
	}
	st.names = events.Names{Namespace: "bench"}
	if o.NATSURL != "" {
		copts = natsconn.Options{URL: o.NATSURL, Name: "qyshook-bench"}
		st.names.Namespace = fmt.Sprintf("bench%x", time.Now().UnixNano()&0xffffffff)
	}
	if st.conn, err = natsconn.Connect(ctx, copts); err != nil {
		return nil, err
	}
	st.undo = append(st.undo, func() { st.conn.Close() })
	if o.NATSURL != "" {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := st.conn.WaitConnected(wctx); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", o.NATSURL, err)
		}
		st.undo = append(st.undo, func() {
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, name := range []string{st.names.CallbacksStream(), st.names.LedgerStream(), st.names.DLQStream()} {
				_ = st.conn.JS.DeleteStream(dctx, name)
			}
		})
	}
	if err := st.names.Provision(ctx, st.conn.JS, events.StreamSettings{MaxAge: time.Hour, MaxBytes: 4 << 30,
		DuplicateWindow: 10 * time.Minute, Replicas: o.Replicas}); err != nil {
		return nil, err
	}
	verifier, err := qys.NewVerifier(qys.VerifierConfig{Format: qys.FormatA, Cipher: qys.CipherECB, Secrets: []string{o.Secret},
		Window: qys.Window{Past: config.DefaultTimestampPast, Future: config.DefaultTimestampFuture}})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	st.handler, err = receiver.New(receiver.Options{
		Tenants:   map[string]*qys.Verifier{o.Tenant: verifier},
		Publisher: st.conn.JS, Names: st.names, Logger: o.Logger, Registerer: prometheus.NewRegistry(),
	})
	return st, err
}

func (st *receiverStack) close() {
	for i := len(st.undo) - 1; i >= 0; i-- {
		st.undo[i]()
	}
}

// SyncEachWrite, as a sync setting, is QYSHOOK_NATS_SYNC=each-write:
// nats-server fsyncs each write itself.
const SyncEachWrite = embeddednats.SyncEachWrite

// SyncGroupedFS, as a sync setting, is QYSHOOK_NATS_SYNC=grouped-syncfs:
// grouped, each group flushed by syncfs(2) of the whole file system.
const SyncGroupedFS = embeddednats.SyncGroupedFS

// portName is the suffix of a setting's name for its client port:
// "+port" for subscribers, "+pubport" for publishers, "" for none.
func portName(access string) string {
	switch access {
	case "":
		return ""
	case "publish":
		return "+pubport"
	}
	return "+port"
}

// syncName names an fsync setting: "always" (grouped) for zero,
// "each-write", else the interval.
func syncName(interval time.Duration) string {
	if interval == SyncGroupedFS {
		return "grouped-syncfs"
	}
	if interval < 0 {
		return "each-write"
	}
	if interval == 0 {
		return "always"
	}
	return interval.String()
}

func streamMsgs(ctx context.Context, conn *natsconn.Conn, names events.Names) (uint64, error) {
	st, err := conn.JS.Stream(ctx, names.CallbacksStream())
	if err != nil {
		return 0, fmt.Errorf("bench: stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("bench: stream info: %w", err)
	}
	return info.State.Msgs, nil
}

// callback builds callback number i: a distinct contract, so no request is
// a duplicate of another.
func callback(secret string, i int, ts time.Time) (*qys.Outgoing, error) {
	payload, err := json.Marshal(map[string]string{
		"contractId": fmt.Sprintf("bench-%d-%d", ts.UnixNano(), i), "callbackType": "SEAL", "contractStatus": "SIGNING",
		"tenantType": "COMPANY", "tenantName": "bench company", "tenantId": "1", "businessData": "bench",
	})
	if err != nil {
		return nil, err
	}
	out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: secret, Encrypt: true, Cipher: qys.CipherECB}, payload, ts)
	if err != nil {
		return nil, fmt.Errorf("bench: build callback: %w", err)
	}
	if out == nil {
		return nil, errors.New("bench: build callback: nil")
	}
	return out, nil
}
