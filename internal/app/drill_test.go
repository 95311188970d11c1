package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// TestTSAOutageDrill is the outage drill, in real time: the authority
// hangs for QYSHOOK_DRILL_OUTAGE (e.g. 10m) while a callback arrives
// every second; checkpoints every QYSHOOK_DRILL_INTERVAL (default 1m),
// bound QYSHOOK_DRILL_MAX_DELAY (default 5m). It checks that every
// callback is answered success and applied, that the delay warning comes
// and goes, and that anchoring catches up, and logs the timeline. Skipped
// unless QYSHOOK_DRILL_OUTAGE is set.
func TestTSAOutageDrill(t *testing.T) {
	outage, err := time.ParseDuration(os.Getenv("QYSHOOK_DRILL_OUTAGE"))
	if err != nil {
		t.Skip("QYSHOOK_DRILL_OUTAGE not set (e.g. 10m)")
	}
	interval, maxDelay := envDuration("QYSHOOK_DRILL_INTERVAL", time.Minute), envDuration("QYSHOOK_DRILL_MAX_DELAY", 5*time.Minute)
	ctx := context.Background()
	resp, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tsaSrv := httptest.NewServer(resp)
	defer tsaSrv.Close()
	defer resp.SetFault(tsatest.FaultNone)
	env := natstest.New(t)
	vars := map[string]string{
		"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_CALLBACK_SECRET": "0123456789abcdef", "QYSHOOK_NATS_URL": env.URL,
		"QYSHOOK_NATS_NAMESPACE": env.Names.Namespace, "QYSHOOK_RECONCILE_INTERVAL": "0",
		"QYSHOOK_TSA_URLS": tsaSrv.URL, "QYSHOOK_LOG_CHECKPOINT_INTERVAL": interval.String(), "QYSHOOK_TSA_TIMEOUT": "10s",
		"QYSHOOK_TSA_MAX_DELAY": maxDelay.String(), "QYSHOOK_LOG_ORIGIN": "drill.test/log",
	}
	if env.URL == "" {
		vars["QYSHOOK_NATS_NAMESPACE"] = natstest.RandomNamespace()
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
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
	stop := StartStages(zerolog.Nop(), stages)
	defer func() { _ = stop() }()
	cl := svc.Ledger.(store.CheckpointLog)
	log.add(t, "before")
	waitFor(t, "a first anchored checkpoint", func() bool {
		st, err := cl.CheckpointStats(ctx)
		return err == nil && st.LatestAnchored != nil
	})

	start := time.Now()
	resp.SetFault(tsatest.FaultHang)
	sent, refused := 0, 0
	var warnFrom, warnTo time.Time
	var maxUnanchored int64
	for time.Since(start) < outage {
		out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: "0123456789abcdef", Encrypt: true},
			[]byte(fmt.Sprintf(`{"contractId":"4%018d","callbackType":"SEND","contractStatus":"SIGNING"}`, sent)), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/callbacks/default/contract", bytes.NewReader(out.Body))
		req.Header.Set("Content-Type", out.ContentType)
		probes.ServeHTTP(rec, req)
		sent++
		if rec.Code != http.StatusOK || rec.Body.String() != "success" {
			refused++
		}
		log.add(t, fmt.Sprintf("callback %d", sent))
		if _, body := readyz(t, probes); strings.Contains(body, "anchoring_delayed") && warnFrom.IsZero() {
			warnFrom = time.Now()
		}
		if st, err := cl.CheckpointStats(ctx); err == nil && st.Unanchored > maxUnanchored {
			maxUnanchored = st.Unanchored
		}
		time.Sleep(time.Second)
	}
	back := time.Now()
	resp.SetFault(tsatest.FaultNone)
	// A stamp attempt follows every interval's signing, whatever the backoff
	// after a long outage: catching up takes up to one interval.
	waitForUpTo(t, 2*interval+time.Minute, "the warning cleared and every checkpoint anchored", func() bool {
		_, body := readyz(t, probes)
		st, err := cl.CheckpointStats(ctx)
		ok := !strings.Contains(body, "anchoring_delayed") && err == nil && st.Unanchored == 0
		if ok {
			warnTo = time.Now()
		}
		return ok
	})
	waitFor(t, "every callback applied", func() bool {
		cs, err := svc.Ledger.Contracts(ctx, store.ContractFilter{Tenant: "default"})
		return err == nil && len(cs) == sent
	})
	all, err := cl.Checkpoints(ctx, store.CheckpointFilter{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("outage %s (interval %s, max delay %s): %d callbacks sent, %d refused, %d applied; up to %d checkpoints unanchored; "+
		"warning from +%s to +%s; caught up %s after the authority came back; %d checkpoints, all anchored",
		outage, interval, maxDelay, sent, refused, sent, maxUnanchored, warnFrom.Sub(start).Round(time.Second),
		warnTo.Sub(start).Round(time.Second), warnTo.Sub(back).Round(time.Millisecond), len(all))
	if refused > 0 || warnFrom.IsZero() && outage > maxDelay {
		t.Fatalf("refused %d; warning seen %v", refused, !warnFrom.IsZero())
	}
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
