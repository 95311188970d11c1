package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/ledgerdb"
	"github.com/qyshook/qyshook/webhook"
)

// refusing is a listener that, while down is set, closes every connection
// it accepts at once (the endpoint refuses them).
type refusing struct {
	net.Listener
	down *atomic.Bool
}

func (l refusing) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.down.Load() {
			return c, err
		}
		c.Close()
	}
}

// TestDeliveryKilledTwice is the outage drill with real processes: an
// ordered endpoint declared in the config file refuses connections, then
// answers 500, then hangs, while facts keep coming and `qyshook serve` is
// SIGKILLed twice and started again; once the endpoint answers, every
// fact arrives, each contract's in sequence, and a fact received twice
// is a retry of one webhook-id.
//
// By default each phase lasts two rounds (seconds); with
// QYSHOOK_DELIVERY_DRILL_OUTAGE=10m the endpoint is out for ten minutes in
// real time (a third refusing, a third answering 500, a third hanging),
// with a round of facts every two seconds and a retry schedule that spans
// the outage.
func TestDeliveryKilledTwice(t *testing.T) {
	var outage time.Duration
	if v := os.Getenv("QYSHOOK_DELIVERY_DRILL_OUTAGE"); v != "" {
		var err error
		if outage, err = time.ParseDuration(v); err != nil || outage <= 0 {
			t.Fatalf("QYSHOOK_DELIVERY_DRILL_OUTAGE=%q: want a duration", v)
		}
	}
	schedule := "200ms,500ms" + strings.Repeat(",1s", 78)
	if outage > 0 {
		schedule = "200ms,500ms,1s,2s,5s,10s,30s" + strings.Repeat(",1m", int(outage/time.Minute)+5)
	}
	bin := QyshookBinary(t)
	n := natstest.NewEmbedded(t)
	dir := t.TempDir()
	secret, _ := webhook.NewSecret()

	var down atomic.Bool
	var mode atomic.Int32 // 1: 500, 2: hang, 3: 204
	down.Store(true)
	var mu sync.Mutex
	type got struct {
		id       string
		contract string
		seq      int64
	}
	var delivered []got
	stopHang := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now()); err != nil {
			t.Errorf("endpoint: %v", err)
		}
		switch mode.Load() {
		case 1:
			w.WriteHeader(500)
			return
		case 2:
			select {
			case <-r.Context().Done():
			case <-stopHang:
			}
			return
		}
		var f events.Fact
		_ = json.Unmarshal(body, &f)
		mu.Lock()
		delivered = append(delivered, got{r.Header.Get(webhook.HeaderID), f.ContractID, f.Seq})
		mu.Unlock()
		w.WriteHeader(204)
	})}
	go func() { _ = srv.Serve(refusing{ln, &down}) }()
	t.Cleanup(func() { close(stopHang); srv.Close() })

	cfg := filepath.Join(dir, "qyshook.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`[[tenant]]
name = "default"
callback_secrets = ["0123456789abcdef"]

[[endpoint]]
id = "drill"
url = "http://%s/hook"
secrets = [%q]
ordered = true
allow_private = true
allow_http = true
`, ln.Addr(), secret)), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var logs lockedBuffer
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "-addr", freePort(t))
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "QYSHOOK_CONFIG=" + cfg, "QYSHOOK_DATA_DIR=" + data,
			"QYSHOOK_NATS_URL=" + n.URL, "QYSHOOK_NATS_NAMESPACE=" + n.Names.Namespace, "QYSHOOK_RECONCILE_INTERVAL=0",
			"QYSHOOK_ADMIN_ADDR=off", "QYSHOOK_DELIVERY_TIMEOUT=1s",
			"QYSHOOK_DELIVERY_SCHEDULE=" + schedule}
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_, _ = cmd.Process.Wait()
			}
		})
		return cmd
	}
	kill := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
	}
	ctx := context.Background()
	cmd := start()
	// Facts from the fan-out's first start on are delivered: wait for its cursor.
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if l, err := ledgerdb.OpenReadOnly(ctx, "sqlite://"+filepath.Join(data, "ledger.db"), data); err == nil {
			_, ok, _ := l.(store.EndpointStore).DeliveryCursor(ctx, events.DurableDeliveryFanout)
			l.Close()
			if ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery stage never started; logs:\n%s", logs.String())
		}
	}
	const contracts = 3
	seq := int64(0)
	round := func() {
		seq++
		for c := range contracts {
			id := fmt.Sprintf("drill-c%d-%d", c, seq)
			body, _ := json.Marshal(events.Fact{Schema: events.SchemaLedgerV1, ID: id, Tenant: "default", Kind: events.FactContractStatus,
				ContractID: fmt.Sprintf("c%d", c), Seq: seq, Status: "SIGNING", OccurredAt: time.Now().UTC()})
			if _, err := n.JS.Publish(ctx, n.Names.LedgerContractSubject("default", "SIGNING"), body, jetstream.WithMsgID(id)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	// phase sends rounds of facts for d (two rounds when d is 0).
	phase := func(d time.Duration) {
		if d == 0 {
			round()
			round()
			return
		}
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(2 * time.Second) {
			round()
		}
	}
	began := time.Now()
	phase(outage / 3) // refused
	kill(cmd)         // SIGKILL 1
	cmd = start()
	down.Store(false)
	mode.Store(1) // 500
	phase(outage / 3)
	mode.Store(2) // hanging
	phase(outage / 6)
	time.Sleep(500 * time.Millisecond)
	kill(cmd) // SIGKILL 2, mid-hang
	cmd = start()
	phase(outage / 6)
	mode.Store(3) // back
	back := time.Now()
	t.Logf("endpoint out for %v", back.Sub(began).Round(time.Second))
	round()
	want := int(seq) * contracts
	var allIn time.Time
	for deadline := time.Now().Add(150 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		distinct := map[string]bool{}
		for _, g := range delivered {
			distinct[g.id] = true
		}
		mu.Unlock()
		if len(distinct) == want {
			allIn = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d facts delivered after the outage; logs:\n%s", len(distinct), want, logs.String())
		}
	}
	kill(cmd)
	mu.Lock()
	defer mu.Unlock()
	last := map[string]int64{}
	seen := map[string]int{}
	for _, g := range delivered {
		seen[g.id]++
		if seen[g.id] > 1 {
			continue
		}
		if g.seq != last[g.contract]+1 {
			t.Fatalf("contract %s: fact %d after %d", g.contract, g.seq, last[g.contract])
		}
		last[g.contract] = g.seq
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	t.Logf("%d facts, %d contracts, serve SIGKILLed twice during the outage: all delivered in per-contract order, the last %v after the endpoint came back; %d repeated deliveries (same webhook-id)", want, contracts, allIn.Sub(back).Round(time.Second), dups)
}
