package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// memHead is a real tlog tree in memory, standing in for the ledger's
// receipt log (LogHead arrives with it).
type memHead struct {
	mu     sync.Mutex
	hashes map[int64]tlog.Hash
	n      int64
}

func (m *memHead) ReadHashes(idx []int64) ([]tlog.Hash, error) {
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

func (m *memHead) add(t *testing.T, leaf string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hashes == nil {
		m.hashes = map[int64]tlog.Hash{}
	}
	hs, err := tlog.StoredHashes(m.n, []byte(leaf), m)
	if err != nil {
		t.Fatal(err)
	}
	base := tlog.StoredHashCount(m.n)
	for i, h := range hs {
		m.hashes[base+int64(i)] = h
	}
	m.n++
}

func (m *memHead) head(context.Context) (tlog.Tree, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == 0 {
		return tlog.Tree{}, nil
	}
	h, err := tlog.TreeHash(m.n, m)
	return tlog.Tree{N: m.n, Hash: h}, err
}

// TestAnchorWiring: with a receipt log, Stages runs the anchor stage;
// POST /api/v1/log/checkpoints signs one (201) that gets anchored by the
// configured authority; while the authority hangs past the bound, every
// callback is still answered success and applied, /readyz stays ready
// and lists anchoring_delayed; once it is back, anchoring catches up and
// the warning clears.
func TestAnchorWiring(t *testing.T) {
	ctx := context.Background()
	resp, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tsaSrv := httptest.NewServer(resp)
	defer tsaSrv.Close()
	defer resp.SetFault(tsatest.FaultNone)
	env := natstest.New(t)
	const token = "0123456789abcdef0123456789abcdef"
	vars := map[string]string{
		"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_CALLBACK_SECRET": "0123456789abcdef", "QYSHOOK_NATS_URL": env.URL,
		"QYSHOOK_NATS_NAMESPACE": env.Names.Namespace, "QYSHOOK_RECONCILE_INTERVAL": "0", "QYSHOOK_ADMIN_TOKEN": token,
		"QYSHOOK_TSA_URLS": tsaSrv.URL, "QYSHOOK_LOG_CHECKPOINT_INTERVAL": "1s", "QYSHOOK_TSA_TIMEOUT": "1s",
		"QYSHOOK_LOG_ORIGIN": "wiring.test/log",
	}
	if env.URL == "" {
		vars["QYSHOOK_NATS_NAMESPACE"] = natstest.RandomNamespace()
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Anchor.MaxDelay = 300 * time.Millisecond // below the setting's bound: the test's own short bound
	svc, err := Open(ctx, cfg, zerolog.Nop(), Parts{NATS: true, Ledger: true, Provision: true})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var log memHead
	svc.LogHead = log.head
	reg := prometheus.NewRegistry()
	probes, err := svc.handler(Roles{Receiver: true, Dispatcher: true}, reg)
	if err != nil {
		t.Fatal(err)
	}
	stages, err := svc.Stages(reg, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stages {
		names = append(names, s.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "anchor") {
		t.Fatalf("stages %v: no anchor", names)
	}
	stop := StartStages(zerolog.Nop(), stages)
	defer func() { _ = stop() }()
	adm, err := svc.AdminHandler(nil)
	if err != nil {
		t.Fatal(err)
	}
	admSrv := httptest.NewServer(adm)
	defer admSrv.Close()
	client, err := adminapi.NewClient(adminapi.ClientOptions{URL: admSrv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}

	for i := range 4 {
		log.add(t, "leaf "+string(rune('a'+i)))
	}
	got, err := client.RequestCheckpoint(ctx)
	if err != nil || got.Checkpoint == nil || got.Checkpoint.Size != 4 {
		t.Fatalf("request: %+v %v", got, err)
	}
	waitFor(t, "the checkpoint anchored", func() bool {
		st, err := client.LogStatus(ctx)
		return err == nil && st.LatestAnchored != nil && st.LatestAnchored.Size == 4
	})

	resp.SetFault(tsatest.FaultHang)
	log.add(t, "while down")
	const callbacks = 20
	for i := range callbacks {
		out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: "0123456789abcdef", Encrypt: true},
			[]byte(fmt.Sprintf(`{"contractId":"30000000000000000%02d","callbackType":"SEND","contractStatus":"SIGNING"}`, i)), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/callbacks/default/contract", bytes.NewReader(out.Body))
		req.Header.Set("Content-Type", out.ContentType)
		probes.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.String() != "success" {
			t.Fatalf("callback %d while the authority hangs: %d %q", i, rec.Code, rec.Body.String())
		}
		log.add(t, fmt.Sprintf("callback %d", i))
	}
	waitFor(t, "/readyz listing anchoring_delayed and every callback applied", func() bool {
		code, body := readyz(t, probes)
		cs, err := svc.Ledger.Contracts(ctx, store.ContractFilter{Tenant: "default"})
		return code == http.StatusOK && strings.Contains(body, `"warnings":["anchoring_delayed"]`) && err == nil && len(cs) == callbacks
	})
	resp.SetFault(tsatest.FaultNone)
	waitFor(t, "anchoring caught up and the warning cleared", func() bool {
		code, body := readyz(t, probes)
		st, err := client.LogStatus(ctx)
		return code == http.StatusOK && !strings.Contains(body, "warnings") && err == nil && st.Unanchored == 0 &&
			st.LatestAnchored != nil && st.LatestAnchored.Size == 5+callbacks
	})
}

func readyz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	b, _ := io.ReadAll(rec.Body)
	var v map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(b), &v); err != nil {
		t.Fatalf("readyz %q: %v", b, err)
	}
	return rec.Code, string(b)
}

// waitFor polls cond (a wait, not a speed assertion: the bound only ends
// a stuck test).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForUpTo(t, time.Minute, what, cond)
}

func waitForUpTo(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(bound); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
