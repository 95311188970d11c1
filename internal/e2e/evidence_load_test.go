package e2e_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/bundler"
	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// TestEvidenceLoad: N contracts complete while other callbacks keep
// arriving (contracts sent and half signed, none ending), with the
// receipt log's checkpoints anchored by a time-stamping authority. For
// each contract it measures the time from its COMPLETE event applied to
// its bundle (the bundle's built_at, stamped when its build starts and
// saved right after), logs the max and p99, checks every bundle with
// evidence.Verify (the log's key, the authority's root and the fake's CA
// pinned), and counts the platform API requests made while only bundles
// were being built (the bundler calls none).
//
// The default is small (N = 50, checkpoints every 2 s, a pass every 1 s)
// so CI runs it in seconds. QYSHOOK_EVIDENCE_LOAD_N=1000 runs the figure
// of docs/evidence.md with the default intervals (checkpoint 1 min,
// evidence 30 s) unless QYSHOOK_EVIDENCE_LOAD_CHECKPOINT and
// QYSHOOK_EVIDENCE_LOAD_INTERVAL say otherwise. QYSHOOK_EVIDENCE_LOAD_KINDS
// (sqlite, postgres) picks the ledgers (default: every one testdb has).
func TestEvidenceLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n, checkpoint, interval := 50, 2*time.Second, time.Second
	if v := os.Getenv("QYSHOOK_EVIDENCE_LOAD_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("QYSHOOK_EVIDENCE_LOAD_N=%q: want a count of contracts >= 1", v)
		}
		checkpoint, interval = time.Minute, bundler.DefaultInterval
	}
	for _, e := range []struct {
		name string
		d    *time.Duration
	}{{"QYSHOOK_EVIDENCE_LOAD_CHECKPOINT", &checkpoint}, {"QYSHOOK_EVIDENCE_LOAD_INTERVAL", &interval}} {
		if v := os.Getenv(e.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				t.Fatalf("%s=%q: want a duration such as 30s", e.name, v)
			}
			*e.d = d
		}
	}
	kinds := testdb.Kinds()
	if v := os.Getenv("QYSHOOK_EVIDENCE_LOAD_KINDS"); v != "" {
		kinds = nil
		for _, k := range strings.Split(v, ",") {
			kinds = append(kinds, testdb.Kind(strings.TrimSpace(k)))
		}
	}
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) { testEvidenceLoad(t, kind, n, checkpoint, interval) })
	}
}

func testEvidenceLoad(t *testing.T, kind testdb.Kind, n int, checkpoint, interval time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	resp, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tsaSrv := httptest.NewServer(resp)
	t.Cleanup(tsaSrv.Close)
	s := newStack(t, testdb.URL(t, kind))
	s.env["QYSHOOK_TSA_URLS"] = tsaSrv.URL
	s.env["QYSHOOK_LOG_CHECKPOINT_INTERVAL"] = checkpoint.String()
	s.env["QYSHOOK_EVIDENCE_INTERVAL"] = interval.String()
	s.env["QYSHOOK_LOG_LEVEL"] = "error"
	addr := s.run(t, app.Roles{Receiver: true, Dispatcher: true})
	base := "http://" + addr + "/callbacks/default"
	s.fake.SetCallbackTarget(qystest.CallbackTarget{
		ContractURL: base + "/contract",
		Sender:      qys.SenderConfig{Format: qys.FormatA, Secret: s.secret, Encrypt: true},
	})
	t.Logf("%s: %d contracts; checkpoint interval %s, evidence interval %s, batch %d", kind, n, checkpoint, interval, bundler.DefaultBatch)

	// Ordinary load: contracts sent and signed by one of two signatories,
	// none of them ending, until every measured contract is bundled.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	var loadMu sync.Mutex
	loadIDs := map[string]bool{}
	load.Add(1)
	go func() {
		defer load.Done()
		two := qystest.ContractSpec{Subject: "负载", Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantPersonal, TenantName: "钱七"}, {TenantType: qystest.TenantPersonal, TenantName: "孙八"}}}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			id := s.fake.AddContract(two)
			loadMu.Lock()
			loadIDs[id] = true
			loadMu.Unlock()
			if err := s.fake.Send(id); err != nil {
				t.Error(err)
				return
			}
			if err := s.fake.Sign(id, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { stopLoad(); load.Wait() }()

	// The measured contracts complete, four at a time.
	one := qystest.ContractSpec{Subject: "证据包", Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "赵六"}}}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = s.fake.AddContract(one)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if err := s.fake.Send(ids[i]); err != nil {
					t.Error(err)
					return
				}
				if err := s.fake.Sign(ids[i], 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d contracts completed on the platform in %s", n, time.Since(start).Round(time.Millisecond))

	l := testdb.OpenURL(t, s.dbURL)
	es := l.(store.EvidenceStore)
	// Everything the platform is asked about the measured contracts comes
	// before they are confirmed and their documents archived; from then
	// on, their bundles are built while the load's callbacks go on (and
	// the dispatcher asks about the load's contracts).
	if err := e2e.Eventually(ctx, 20*time.Minute, func() string {
		for _, id := range ids {
			c, err := l.Contract(ctx, "default", id)
			if err != nil || c.Status != "COMPLETE" || !c.Confirmed {
				return fmt.Sprintf("contract %s: %+v, %v", id, c, err)
			}
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("all %d contracts confirmed COMPLETE after %s", n, time.Since(start).Round(time.Millisecond))
	if err := e2e.Eventually(ctx, 10*time.Minute, func() string {
		c, err := l.DocumentCounts(ctx, store.ArchivePending)
		if err != nil || c[store.ArchivePending] != 0 {
			return fmt.Sprintf("documents waiting for the archive: %v, %v", c, err)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	quietFrom := len(s.fake.Requests())
	quietBundles := countBundles(ctx, t, es, ids)
	quietAt := time.Now()

	// Every contract's bundle.
	bundles := make(map[string]*store.Bundle, n)
	if err := e2e.Eventually(ctx, 20*time.Minute, func() string {
		for _, id := range ids {
			if bundles[id] != nil {
				continue
			}
			b, err := es.Bundle(ctx, "default", id, 1)
			if err != nil {
				return fmt.Sprintf("%d of %d bundles; %s: %v", len(bundles), n, id, err)
			}
			bundles[id] = b
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	stopLoad()
	load.Wait()
	// Requests in the window that are not the dispatcher asking about a
	// load contract's callback: none.
	window := s.fake.Requests()[quietFrom:]
	var other []qystest.Request
	loadCalls := 0
	for _, r := range window {
		if r.Path == "/v2/contract/detail" && loadIDs[r.Query.Get("contractId")] {
			loadCalls++
			continue
		}
		other = append(other, r)
	}
	t.Logf("all bundles after %s; %d built in the %s after the last document was archived, with %d platform API requests meanwhile, all %d the load's contract details (%d load contracts in all)",
		time.Since(start).Round(time.Millisecond), n-quietBundles, time.Since(quietAt).Round(time.Millisecond), len(window), loadCalls, len(loadIDs))
	if len(other) != 0 {
		t.Errorf("%d platform API requests while the bundles were built that are not the load's, want 0: %v", len(other), other)
	}
	byPath := map[string]int{}
	for _, r := range s.fake.Requests() {
		byPath[r.Path]++
	}
	t.Logf("platform API requests in all, by path: %v", byPath)

	// Completion to bundle, per contract.
	lat := make([]time.Duration, 0, n)
	for _, id := range ids {
		evs, err := l.Events(ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		var done time.Time
		for _, ev := range evs {
			if ev.Type == "COMPLETE" && (done.IsZero() || ev.AppliedAt.Before(done)) {
				done = ev.AppliedAt
			}
		}
		if done.IsZero() {
			t.Fatalf("contract %s: no COMPLETE event applied in %d events", id, len(evs))
		}
		lat = append(lat, bundles[id].BuiltAt.Sub(done))
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, (len(lat)*99+99)/100-1)]
	t.Logf("completion to bundle over %d contracts: median %s, p99 %s, max %s", n,
		lat[len(lat)/2].Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))

	// Every bundle verifies with the key and roots pinned.
	key, err := os.ReadFile(filepath.Join(s.dataDir, "log", "checkpoint.key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := s.fake.CACertificatePEM()
	if err != nil {
		t.Fatal(err)
	}
	pdfRoots := x509.NewCertPool()
	if !pdfRoots.AppendCertsFromPEM(caPEM) {
		t.Fatal("the fake's CA PEM holds no certificate")
	}
	o := evidence.VerifyOptions{VerifierKeys: []string{strings.TrimSpace(string(key))}, TSARoots: resp.Roots(), PDFRoots: pdfRoots}
	unanchored := 0
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(s.dataDir, bundles[id].Path))
		if err != nil {
			t.Fatal(err)
		}
		res, err := evidence.Verify(ctx, strings.NewReader(string(b)), int64(len(b)), o)
		if err != nil {
			t.Fatalf("%s: %v", bundles[id].Path, err)
		}
		if res.Problems != 0 {
			for _, line := range res.Lines {
				if !line.OK {
					t.Errorf("%s: %s: %s", bundles[id].Path, line.Item, line.What)
				}
			}
			t.Fatalf("%s: %d problems", bundles[id].Path, res.Problems)
		}
		if len(res.Manifest.Stamps) == 0 {
			unanchored++
		}
	}
	t.Logf("%d bundles verified (key, time-stamp root and PDF CA pinned); %d without a time-stamp", n, unanchored)
	if unanchored != 0 {
		t.Errorf("%d bundles without a time-stamp over their checkpoint, want 0 (the authority never failed)", unanchored)
	}
}

// countBundles counts the contracts of ids that have a bundle.
func countBundles(ctx context.Context, t *testing.T, es store.EvidenceStore, ids []string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		if _, err := es.Bundle(ctx, "default", id, 1); err == nil {
			n++
		}
	}
	return n
}
