package dispatcher_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// TestTwoDispatchersOneLog: two dispatchers, each with its own pool on
// one PostgreSQL ledger (as two processes would be), share the callback
// consumer under load; the receipt log they append to has no gap and no
// fork (verify --log finds nothing, every event has exactly one leaf with
// its stream sequence), and every leaf is provable in the head.
func TestTwoDispatchersOneLog(t *testing.T) {
	if testdb.PostgresDSN() == "" {
		t.Skip("QYSHOOK_TEST_POSTGRES_DSN not set")
	}
	ctx := context.Background()
	u := testdb.URL(t, testdb.Postgres)
	l1, l2 := testdb.OpenURL(t, u), testdb.OpenURL(t, u)
	h := stagetest.New(t, l1)
	const contracts = 150
	ids := make([]string, contracts)
	for i := range ids {
		ids[i] = h.AddContract(lifecycle.Signing)
	}
	h.Start()
	cfg := h.Config
	reg2 := prometheus.NewRegistry()
	cfg.Registerer = reg2
	cfg.Ledger = l2
	d2, err := dispatcher.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d2.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("second dispatcher: %v", err)
		}
	}()
	for _, id := range ids {
		h.PublishContract(id, "SEAL", lifecycle.Signing)
	}
	for i, id := range ids {
		if i%2 == 0 {
			h.CompleteInFake(id)
			h.PublishContract(id, "COMPLETE", lifecycle.Complete)
		}
	}
	stagetest.Eventually(t, "every callback applied", func() bool {
		for i, id := range ids {
			c := h.Contract(id)
			if c == nil || i%2 == 0 && c.Status != lifecycle.Complete {
				return false
			}
		}
		return h.Settled()
	})
	for name, reg := range map[string]*prometheus.Registry{"first": h.Registry, "second": reg2} {
		if n := appliedTotal(t, reg); n == 0 {
			t.Errorf("the %s dispatcher applied nothing: the test did not run two", name)
		}
	}
	var problems []string
	sum, err := l2.(store.LogVerifier).VerifyLog(ctx, store.LogVerifyOptions{DataDir: h.DataDir},
		func(p store.LogProblem) { problems = append(problems, p.String()) })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("verify --log: %s", p)
	}
	rl := l1.(store.ReceiptLog)
	head, err := rl.LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.N < int64(contracts*3/2) || sum.Leaves != sum.Head.N || head.N < sum.Head.N {
		t.Fatalf("head %d leaves, verify read %d of its snapshot %d; want at least %d", head.N, sum.Leaves, sum.Head.N, contracts*3/2)
	}
	events := map[string]int64{}
	seqs := map[uint64]string{}
	for i := int64(0); i < head.N; i++ {
		sl, err := rl.LogLeaf(ctx, i)
		if err != nil {
			t.Fatalf("leaf %d: %v (a gap)", i, err)
		}
		tree, p, err := rl.LogInclusion(ctx, i, head.N)
		if err != nil {
			t.Fatal(err)
		}
		if err := receiptlog.CheckInclusion(p, tree, i, sl.Leaf); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		l, err := receiptlog.Parse(sl.Leaf)
		if err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		if l.Kind != receiptlog.KindEvent {
			continue
		}
		if prev, ok := events[l.Ref]; ok {
			t.Errorf("event %s has leaves %d and %d (a fork)", l.Ref, prev, i)
		}
		events[l.Ref] = i
		if l.StreamSeq == 0 || l.Verdict != "verified" {
			t.Errorf("event leaf %d: stream_seq %d, verdict %q", i, l.StreamSeq, l.Verdict)
		}
		if other, ok := seqs[l.StreamSeq]; ok {
			t.Errorf("stream sequence %d in the leaves of %s and %s", l.StreamSeq, other, l.Ref)
		}
		seqs[l.StreamSeq] = l.Ref
	}
	if want := contracts + contracts/2; len(events) != want {
		t.Errorf("%d event leaves, want %d", len(events), want)
	}
	t.Logf("%s", fmt.Sprintf("%d leaves, %d events, head %s", head.N, len(events), head.Hash))
}

// appliedTotal sums qyshook_dispatcher_events_applied_total in reg.
func appliedTotal(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "qyshook_dispatcher_events_applied_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
