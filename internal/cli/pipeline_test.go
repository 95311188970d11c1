package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// opsDispatcher is the running service of a pipeline test: a dispatcher
// with the fake's API credentials applying QYS_CALLBACKS into ledger.
type opsDispatcher struct {
	reg *prometheus.Registry
}

func startOpsDispatcher(t *testing.T, l store.Ledger, n *natstest.Env, fake *qystest.Server) *opsDispatcher {
	t.Helper()
	client, err := fake.Client()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	d, err := dispatcher.New(dispatcher.Config{
		JS: n.JS, Names: n.Names, Ledger: l,
		APIs: map[string]dispatcher.API{"default": client}, MaxDeliver: 2, AckWait: 5 * time.Second,
		Backoff: dispatcher.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The archive stage beside it, as in a dispatcher process.
	a, err := archiver.New(archiver.Options{Ledger: l, Docs: docstore.New(t.TempDir()), Names: n.Names,
		APIs: map[string]archiver.API{"default": client}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- d.Run(ctx) }()
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	})
	return &opsDispatcher{reg: reg}
}

// gauge reads a gauge from the dispatcher's registry (-1: not exposed).
func (d *opsDispatcher) gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// opsEventually polls cond until it holds, or fails the test after a
// generous deadline (a hang, not a speed check).
func opsEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// publishOps puts env on QYS_CALLBACKS as the receiver would.
func publishOps(t *testing.T, n *natstest.Env, env events.Envelope) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.JS.Publish(ctx, n.Names.CallbackSubject(env.Tenant, env.Kind, env.Type), mustEncode(t, env)); err != nil {
		t.Fatal(err)
	}
}

// TestDLQRetryWithoutCredentials: an operator shell without 契约锁 API
// credentials retries a dead letter. The CLI must not apply it from the
// callback alone (unconfirmed) nor delete the row itself: it republishes,
// and the running dispatcher (which has the credentials) confirms it and
// resolves the dead letter.
func TestDLQRetryWithoutCredentials(t *testing.T) {
	ctx := context.Background()
	u, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	id := fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: qys.StatusComplete,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	env := opsEnvelope(id, "SIGNED", qys.StatusSigning) // the callback claims SIGNING; the API says COMPLETE
	dl := addOpsDeadLetter(t, l, env.ID, mustEncode(t, env))
	startOpsDispatcher(t, l, n, fake)

	vars := withOpsNATS(opsVars(t, u), n) // no QYSHOOK_QYS_APP_TOKEN / SECRET
	r := mustOpsRun(t, ExitOK, vars, "dlq", "retry", strconv.FormatInt(dl, 10))
	if c, err := l.Contract(ctx, "default", id); err == nil && !c.Confirmed {
		t.Fatalf("the CLI wrote an unconfirmed state %s:\n%s", c.Status, r)
	}
	if !strings.Contains(r.stdout, "republished 1") || !strings.Contains(r.stdout, "dispatcher") {
		t.Errorf("retry does not say it republished for the dispatcher:\n%s", r)
	}
	opsEventually(t, "the dispatcher confirms the contract and resolves the dead letter", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Confirmed && c.Status == qys.StatusComplete && len(opsDeadLetterIDs(t, l)) == 0
	})
	evs, err := l.Events(ctx, "default", id)
	if err != nil || len(evs) != 1 || evs[0].Source != events.SourceReplay || evs[0].ID == env.ID {
		t.Errorf("events = %+v, %v; want one replay event with its own id", evs, err)
	}
}

// TestReplayIsAppliedByTheDispatcher: a replay run while the service runs
// never opens the ledger (QYSHOOK_DB points at a file that must not
// appear); the running dispatcher applies the republished events and the
// ledger ends in the API's truth.
func TestReplayIsAppliedByTheDispatcher(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	id := fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: qys.StatusSigning,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	orig := opsEnvelope(id, "SIGNED", qys.StatusSigning)
	publishOps(t, n, orig)
	startOpsDispatcher(t, l, n, fake)
	opsEventually(t, "the callback applied", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Status == qys.StatusSigning
	})
	if err := fake.SetStatus(id, qys.StatusComplete); err != nil { // the platform moved on; no callback came
		t.Fatal(err)
	}

	elsewhere := filepath.Join(t.TempDir(), "ledger.db")
	vars := withOpsFake(withOpsNATS(opsVars(t, "sqlite://"+elsewhere), n), fake)
	r := mustOpsRun(t, ExitOK, vars, "replay", "--contract", id)
	if _, err := os.Stat(elsewhere); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("replay opened a ledger of its own at %s (%v):\n%s", elsewhere, err, r)
	}
	opsEventually(t, "the dispatcher applies the replay", func() bool {
		c, err := l.Contract(ctx, "default", id)
		return err == nil && c.Status == qys.StatusComplete && c.Confirmed
	})
	// The same job again republishes nothing new.
	mustOpsRun(t, ExitOK, vars, "replay", "--contract", id, "--job", "j1")
	if got := streamMsgs(t, n, n.Names.CallbacksStream()); got != 3 {
		t.Errorf("stream holds %d messages, want the callback and two replays", got)
	}
	r = mustOpsRun(t, ExitOK, vars, "replay", "--contract", id, "--job", "j1", "--json")
	if got := streamMsgs(t, n, n.Names.CallbacksStream()); got != 3 {
		t.Errorf("re-running job j1 republished: %d messages\n%s", got, r)
	}
}

// TestBareReplayReplaysNothing: `qyshook replay` without a selector must
// not re-drive the whole stream.
func TestBareReplayReplaysNothing(t *testing.T) {
	n := natstest.New(t)
	publishOps(t, n, opsEnvelope("3121362688600000003", "SIGNED", qys.StatusSigning))
	vars := withOpsNATS(opsVars(t, testdb.URL(t, testdb.SQLite)), n)
	r := mustOpsRun(t, ExitUsage, vars, "replay")
	if !strings.Contains(r.stderr, "Usage: qyshook replay") || !strings.Contains(r.stderr, "-since") {
		t.Errorf("bare replay does not print its usage:\n%s", r)
	}
	if got := streamMsgs(t, n, n.Names.CallbacksStream()); got != 1 {
		t.Errorf("bare replay published: the stream holds %d messages", got)
	}
}

// TestDLQDepthClearsWhenResolved: qyshook_dlq_depth (messages on QYS_DLQ)
// returns to zero once every dead letter is resolved, by a retry that
// succeeds or by a purge of one id.
func TestDLQDepthClearsWhenResolved(t *testing.T) {
	ctx := context.Background()
	u, l := opsLedger(t, testdb.SQLite)
	n := natstest.New(t)
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	d := startOpsDispatcher(t, l, n, fake)
	// Two contracts the API does not know yet: permanent failures.
	lost := opsEnvelope("3121362688600000004", "SIGNED", qys.StatusSigning)
	publishOps(t, n, lost)
	publishOps(t, n, opsEnvelope("3121362688600000005", "SIGNED", qys.StatusSigning))
	opsEventually(t, "two dead letters", func() bool {
		return len(opsDeadLetterIDs(t, l)) == 2 && d.gauge(t, "qyshook_dlq_depth") == 2
	})
	rows, err := l.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	vars := withOpsFake(withOpsNATS(opsVars(t, u), n), fake)
	mustOpsRun(t, ExitOK, vars, "dlq", "purge", strconv.FormatInt(rows[1].ID, 10))
	opsEventually(t, "depth 1 after a purge", func() bool { return d.gauge(t, "qyshook_dlq_depth") == 1 })

	// The platform now knows the first contract: a retry resolves it.
	fake.AddContract(qystest.ContractSpec{ID: lost.ContractID, Subject: "采购合同", Status: qys.StatusSigning,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	mustOpsRun(t, ExitOK, vars, "dlq", "retry", "--all")
	opsEventually(t, "depth 0 after the retry applied", func() bool {
		return d.gauge(t, "qyshook_dlq_depth") == 0 && len(opsDeadLetterIDs(t, l)) == 0
	})
	if c, err := l.Contract(ctx, "default", lost.ContractID); err != nil || !c.Confirmed {
		t.Errorf("retried contract = %+v, %v", c, err)
	}
}
