package anchor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/anchor"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

const origin = "test.example/qyshook"

// memLog is a real tlog tree in memory, safe for concurrent use: the
// stand-in for the ledger's receipt log.
type memLog struct {
	mu     sync.Mutex
	hashes map[int64]tlog.Hash
	n      int64
}

func (m *memLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := m.hashes[x]
		if !ok {
			return nil, errors.New("no such hash")
		}
		out[i] = h
	}
	return out, nil
}

// Append adds one leaf.
func (m *memLog) Append(leaf []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hashes == nil {
		m.hashes = map[int64]tlog.Hash{}
	}
	hs, err := tlog.StoredHashes(m.n, leaf, m)
	if err != nil {
		return err
	}
	base := tlog.StoredHashCount(m.n)
	for i, h := range hs {
		m.hashes[base+int64(i)] = h
	}
	m.n++
	return nil
}

// Head is the anchor's view of the log.
func (m *memLog) Head(context.Context) (tlog.Tree, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tree(m.n)
}

func (m *memLog) tree(n int64) (tlog.Tree, error) {
	if n == 0 {
		return tlog.Tree{}, nil
	}
	h, err := tlog.TreeHash(n, m)
	return tlog.Tree{N: n, Hash: h}, err
}

type fixture struct {
	log    *memLog
	ledger store.Ledger
	cps    store.CheckpointLog
	keys   *checkpoint.Keyring
	tsa    *tsatest.Responder
	tsaURL string
	reg    *prometheus.Registry
	a      *anchor.Anchor
}

func newFixture(t testing.TB, kind testdb.Kind, modify func(*anchor.Options)) *fixture {
	t.Helper()
	f := &fixture{log: &memLog{}, ledger: testdb.Open(t, kind), reg: prometheus.NewRegistry()}
	f.cps = f.ledger.(store.CheckpointLog)
	var err error
	f.keys, err = checkpoint.New(checkpoint.Options{Origin: origin, KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.tsa, err = tsatest.New(tsatest.Options{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.tsa)
	t.Cleanup(func() { f.tsa.SetFault(tsatest.FaultNone); srv.Close() })
	f.tsaURL = srv.URL
	client, err := tsa.New(tsa.Options{URLs: []string{srv.URL}, Roots: f.tsa.Roots(), Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := anchor.Options{Head: f.log.Head, Keys: f.keys, TSA: client, Ledger: f.cps, Tenants: []string{"default", "acme"},
		Interval: time.Hour, Registerer: f.reg}
	if modify != nil {
		modify(&o)
	}
	if f.a, err = anchor.New(o); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func (f *fixture) append(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := f.log.Append([]byte("leaf " + strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond until it holds (a wait, not a speed assertion:
// the bound only ends a stuck test).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestRequestSignsStoresPublishesAndStamps: a requested checkpoint is
// signed over the log head, stored with one fact per tenant, stamped by
// the authority; note, facts and stamp verify with this code and with
// openssl; a second request on an unchanged tree signs nothing.
func TestRequestSignsStoresPublishesAndStamps(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, kind, nil)
			if c, created, err := f.a.Request(ctx); err != nil || c != nil || created {
				t.Fatalf("empty log: %+v %v %v", c, created, err)
			}
			f.append(t, 5)
			c, created, err := f.a.Request(ctx) // before the stage runs: its first pass would sign it
			if err != nil || !created || c.Size != 5 {
				t.Fatalf("request: %+v %v %v", c, created, err)
			}
			f.run(t)
			eventually(t, "the checkpoint anchored", func() bool {
				got, err := f.cps.Checkpoint(ctx, 5)
				return err == nil && got.Anchored()
			})
			got, err := f.cps.Checkpoint(ctx, 5)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := f.log.tree(5)
			if err != nil {
				t.Fatal(err)
			}
			st := got.Stamps[0]
			stamps := []checkpoint.StoredStamp{{URL: st.TSAURL, Token: st.Token, Certs: pemDERs(t, st.Certs)}}
			cp, checks, err := f.keys.Verifier().Check(tree, got.Note, stamps, f.tsa.Roots())
			if err != nil || cp.Tree != tree || !checks[0].Pinned || !checks[0].Time.Equal(st.GenTime) || st.TSAURL != f.tsaURL {
				t.Fatalf("check: %+v %+v %v", cp, checks, err)
			}
			opensslVerify(t, got.Note, st, f.tsa)

			facts, err := f.ledger.Outbox(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			subjects := map[string]bool{}
			for _, fa := range facts {
				var ev events.Fact
				if err := json.Unmarshal(fa.Payload, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Kind != events.FactLogCheckpoint || ev.Checkpoint == nil || ev.Checkpoint.Note != string(got.Note) ||
					ev.Checkpoint.Size != 5 || ev.ID != fa.ID || ev.Tenant != fa.Tenant {
					t.Fatalf("fact %s: %+v", fa.ID, ev)
				}
				if _, err := f.keys.Open([]byte(ev.Checkpoint.Note)); err != nil {
					t.Fatalf("the fact's note does not open: %v", err)
				}
				subjects[fa.Subject] = true
			}
			if len(facts) != 2 || !subjects["qys.ledger.default.log.checkpoint"] || !subjects["qys.ledger.acme.log.checkpoint"] {
				t.Fatalf("facts %+v", facts)
			}
			again, created, err := f.a.Request(ctx)
			if err != nil || created || again.Size != 5 {
				t.Fatalf("unchanged tree: %+v %v %v", again, created, err)
			}
			if n := counterValue(t, f.reg, "qyshook_log_checkpoints_signed_total", ""); n != 1 {
				t.Fatalf("signed %v", n)
			}
		})
	}
}

func pemDERs(t *testing.T, s string) [][]byte {
	t.Helper()
	var out [][]byte
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		out = append(out, b.Bytes)
	}
	if len(out) == 0 {
		t.Fatalf("no certificate in %q", s)
	}
	return out
}

// opensslVerify checks the stored token over the stored note with openssl,
// with the stored certificates as the untrusted chain.
func opensslVerify(t *testing.T, note []byte, st store.LogStamp, r *tsatest.Responder) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed: the outside check is skipped")
		return
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"ts", "-verify", "-token_in", "-in", write("tok", st.Token), "-data", write("note", note),
		"-CAfile", write("root.pem", r.RootPEM()), "-untrusted", write("certs.pem", []byte(st.Certs))}
	out, err := exec.Command(openssl, args...).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Verification: OK")) {
		t.Fatalf("openssl %v: %s %v", args, out, err)
	}
	args[6] = write("edited", append(bytes.Clone(note), '\n'))
	if out, err := exec.Command(openssl, args...).CombinedOutput(); err == nil {
		t.Fatalf("openssl verified the token over an edited note: %s", out)
	}
}

// TestTSADown: while the authority is down (each fault in turn), the log
// keeps growing (appends never wait for anchoring), checkpoints are signed
// and pile up unanchored, the delay metric and Delayed fire past
// MaxDelay; once it is back, stamping catches up and both clear.
func TestTSADown(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		for _, fault := range []tsatest.Fault{tsatest.FaultDown, tsatest.Fault500, tsatest.FaultHang} {
			t.Run(string(kind)+"/"+string(fault), func(t *testing.T) {
				ctx := context.Background()
				f := newFixture(t, kind, func(o *anchor.Options) {
					o.Interval, o.MaxDelay = 20*time.Millisecond, 150*time.Millisecond
					o.RetryMin, o.RetryMax = 10*time.Millisecond, 40*time.Millisecond
				})
				f.append(t, 1)
				f.run(t)
				eventually(t, "the first checkpoint anchored", func() bool {
					st, err := f.cps.CheckpointStats(ctx)
					return err == nil && st.LatestAnchored != nil
				})
				f.tsa.SetFault(fault)
				stop := make(chan struct{})
				var appended sync.WaitGroup
				appended.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						if err := f.log.Append([]byte("during " + strconv.Itoa(i))); err != nil {
							t.Error(err)
							return
						}
						time.Sleep(2 * time.Millisecond)
					}
				})
				eventually(t, "checkpoints piling up unanchored and the delay reported", func() bool {
					st, err := f.cps.CheckpointStats(ctx)
					return err == nil && st.Unanchored >= 3 && errors.Is(f.a.Delayed(ctx), anchor.ErrDelayed) &&
						gauge(t, f.reg, "qyshook_log_anchor_delay_seconds") > 0.15 &&
						gauge(t, f.reg, "qyshook_log_checkpoints_unanchored") >= 3 &&
						counterValue(t, f.reg, "qyshook_tsa_requests_total", "error") > 0
				})
				close(stop)
				appended.Wait()
				f.tsa.SetFault(tsatest.FaultNone)
				head, _ := f.log.Head(ctx)
				eventually(t, "anchoring caught up", func() bool {
					st, err := f.cps.CheckpointStats(ctx)
					return err == nil && st.Unanchored == 0 && st.Latest != nil && st.Latest.Size == head.N &&
						f.a.Delayed(ctx) == nil && gauge(t, f.reg, "qyshook_log_anchor_delay_seconds") == 0
				})
				if n := histogramCount(t, f.reg, "qyshook_log_anchor_delay_at_stamp_seconds"); n < 2 {
					t.Fatalf("anchor delays observed: %d", n)
				}
				if n := histogramCount(t, f.reg, "qyshook_log_checkpoint_age_at_sign_seconds"); n < 3 {
					t.Fatalf("ages at signing observed: %d", n)
				}
				all, err := f.cps.Checkpoints(ctx, store.CheckpointFilter{})
				if err != nil {
					t.Fatal(err)
				}
				roots := f.tsa.Roots()
				for _, c := range all {
					tree, err := f.log.tree(c.Size)
					if err != nil {
						t.Fatal(err)
					}
					var stamps []checkpoint.StoredStamp
					for _, s := range c.Stamps {
						stamps = append(stamps, checkpoint.StoredStamp{URL: s.TSAURL, Token: s.Token, Certs: pemDERs(t, s.Certs)})
					}
					if _, _, err := f.keys.Verifier().Check(tree, c.Note, stamps, roots); err != nil || len(stamps) == 0 {
						t.Fatalf("checkpoint %d: %v (%d stamps)", c.Size, err, len(stamps))
					}
				}
			})
		}
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if outcome == "" {
				sum += m.GetCounter().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// TestHeadBehindCheckpoint: a head with fewer leaves than the last
// checkpoint (a rewritten or restored log) is refused, and counted.
func TestHeadBehindCheckpoint(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testdb.SQLite, nil)
	f.append(t, 3)
	if _, _, err := f.a.Request(ctx); err != nil {
		t.Fatal(err)
	}
	short := &memLog{}
	if err := short.Append([]byte("x")); err != nil {
		t.Fatal(err)
	}
	a, err := anchor.New(anchor.Options{Head: short.Head, Keys: f.keys, Ledger: f.cps, Tenants: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Request(ctx); err == nil {
		t.Fatal("a shorter head was accepted")
	}
}

func TestNewRefuses(t *testing.T) {
	f := newFixture(t, testdb.SQLite, nil)
	for name, o := range map[string]anchor.Options{
		"ErrNoHead":    {Keys: f.keys, Ledger: f.cps, Tenants: []string{"default"}},
		"ErrNoKeys":    {Head: f.log.Head, Ledger: f.cps, Tenants: []string{"default"}},
		"ErrNoLedger":  {Head: f.log.Head, Keys: f.keys, Tenants: []string{"default"}},
		"ErrNoTenant":  {Head: f.log.Head, Keys: f.keys, Ledger: f.cps},
		"ErrBadTenant": {Head: f.log.Head, Keys: f.keys, Ledger: f.cps, Tenants: []string{"a.b"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := anchor.New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestCredentialsNotStored: an authority URL with credentials (user info,
// a query token) is called with them and stored, labelled and logged
// without them (the token was logged in the TSA's errors before).
func TestCredentialsNotStored(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	f := newFixture(t, testdb.SQLite, nil)
	withCreds := strings.Replace(f.tsaURL, "http://", "http://user:s3cr3t@", 1) + "?token=T0KEN"
	client, err := tsa.New(tsa.Options{URLs: []string{withCreds}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	a, err := anchor.New(anchor.Options{Head: f.log.Head, Keys: f.keys, TSA: client, Ledger: f.cps, Tenants: []string{"default"},
		Interval: time.Hour, RetryMin: 10 * time.Millisecond, Logger: zerolog.New(&logs), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	f.append(t, 2)
	f.run(t)
	f.tsa.SetFault(tsatest.Fault500) // a failure is logged, naming the authority
	if _, _, err := a.Request(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failure logged", func() bool {
		return f.tsa.Queries() > 0 && strings.Contains(logs.String(), "time-stamp not obtained")
	})
	f.tsa.SetFault(tsatest.FaultNone)
	eventually(t, "the checkpoint anchored", func() bool {
		c, err := f.cps.Checkpoint(ctx, 2)
		return err == nil && c.Anchored()
	})
	c, err := f.cps.Checkpoint(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.tsaURL + "?token=REDACTED"; c.Stamps[0].TSAURL != want {
		t.Fatalf("stored authority %q, want %q", c.Stamps[0].TSAURL, want)
	}
	if strings.Contains(logs.String(), "s3cr3t") || strings.Contains(logs.String(), "T0KEN") {
		t.Fatalf("the credentials were logged:\n%s", logs.String())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labelled := false
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "s3cr3t") || strings.Contains(l.GetValue(), "T0KEN") {
					t.Fatalf("metric %s label %s=%q holds a credential", mf.GetName(), l.GetName(), l.GetValue())
				}
				labelled = labelled || l.GetName() == "tsa" && l.GetValue() == f.tsaURL+"?token=REDACTED"
			}
		}
	}
	if !labelled {
		t.Fatal("no tsa label naming the authority redacted")
	}
}

// syncBuffer is a log sink safe for the stage's goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestIdleLogSignsOnce: the anchor runs over the ledger's own receipt log,
// where each checkpoint's log.checkpoint facts are leaves too. A log that
// grew only by the last checkpoint's own facts has nothing new to sign:
// an idle system signs one checkpoint, not one per interval for ever (and
// asks no authority again). A real record after it is signed.
func TestIdleLogSignsOnce(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			var own store.ReceiptLog
			f := newFixture(t, kind, func(o *anchor.Options) {})
			own = f.ledger.(store.ReceiptLog)
			a, err := anchor.New(anchor.Options{Head: own.LogHead, Leaf: own.LogLeaf, Keys: f.keys, Ledger: f.cps,
				Tenants: []string{"default", "acme"}, Interval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			audit := func(what string) {
				t.Helper()
				if _, err := f.ledger.(store.AdminLog).AddAudit(ctx, store.AuditEntry{Who: "test", Action: what, Outcome: "ok"}); err != nil {
					t.Fatal(err)
				}
			}
			audit("first")
			c1, fresh, err := a.Request(ctx)
			if err != nil || !fresh || c1 == nil {
				t.Fatalf("first request: %v %v %v", c1, fresh, err)
			}
			for i := range 3 {
				c, fresh, err := a.Request(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if fresh || c.Size != c1.Size {
					t.Fatalf("idle request %d signed checkpoint %d (fresh %v) after %d: its own facts count as growth", i, c.Size, fresh, c1.Size)
				}
			}
			head, err := own.LogHead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if head.N != c1.Size+2 {
				t.Fatalf("head %d, want the checkpoint's %d plus its two facts", head.N, c1.Size)
			}
			audit("second")
			c2, fresh, err := a.Request(ctx)
			if err != nil || !fresh || c2.Size != head.N+1 {
				t.Fatalf("after a real record: %+v fresh %v err %v, want size %d", c2, fresh, err, head.N+1)
			}
		})
	}
}
