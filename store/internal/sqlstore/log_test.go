package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

// TestLogVerifiesAndProves: a generated ledger verifies without a
// problem (its pruned events and purged dead letter included), every
// leaf is provable in the head and every older tree is a prefix of it.
func TestLogVerifiesAndProves(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			f := newLogFixture(t, kind, 10)
			ps, sum := f.verify(t)
			for _, p := range ps {
				t.Errorf("problem on an untouched ledger: %s", p)
			}
			if sum.Leaves == 0 || sum.Leaves != sum.Head.N || sum.Rebuilt != sum.Head {
				t.Fatalf("summary %+v", sum)
			}
			if sum.Pruned < 2 || sum.Files != 5 {
				t.Errorf("pruned %d rows and hashed %d files, want >= 2 (events, a dead letter) and 5", sum.Pruned, sum.Files)
			}
			rl := f.l.(store.ReceiptLog)
			head, err := rl.LogHead(ctx)
			if err != nil || head != sum.Head {
				t.Fatalf("LogHead %v, %v; verify read %v", head, err, sum.Head)
			}
			for i := int64(0); i < head.N; i++ {
				leaf, err := rl.LogLeaf(ctx, i)
				if err != nil {
					t.Fatal(err)
				}
				tree, p, err := rl.LogInclusion(ctx, i, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := receiptlog.CheckInclusion(p, tree, i, leaf.Leaf); err != nil {
					t.Fatalf("leaf %d: %v", i, err)
				}
				if i == 0 {
					continue
				}
				old, cur, tp, err := rl.LogConsistency(ctx, i, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := receiptlog.CheckConsistency(tp, cur, old); err != nil {
					t.Fatalf("%d in %d: %v", i, cur.N, err)
				}
			}
			// The pruned events keep their leaves.
			leaves, err := rl.LogLeaves(ctx, receiptlog.KindEvent, "default", "ev-000-1", 0)
			if err != nil || len(leaves) != 1 {
				t.Fatalf("leaves of pruned event ev-000-1: %v, %v", leaves, err)
			}
			if _, err := f.l.Contract(ctx, "default", "C000"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRetentionKeepsLeaves: pruning events and published facts deletes
// rows, never leaves or stored hashes; it appends prune leaves naming
// what went, the pruned rows' leaves stay provable, and verify --log
// reports nothing.
func TestRetentionKeepsLeaves(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			f := newLogFixture(t, kind, 6)
			rl := f.l.(store.ReceiptLog)
			before, err := rl.LogHead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var facts []string
			for i := int64(0); i < before.N; i++ {
				sl, _ := rl.LogLeaf(ctx, i)
				if sl.Kind == receiptlog.KindFact {
					facts = append(facts, sl.Ref)
				}
			}
			if err := f.l.MarkPublished(ctx, facts); err != nil {
				t.Fatal(err)
			}
			r := f.l.(store.Retention)
			evs, err := r.PruneEvents(ctx, time.Now(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := r.PrunePublished(ctx, time.Now().Add(time.Hour), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if evs == 0 || fs != int64(len(facts)) {
				t.Fatalf("pruned %d events and %d facts, want some and %d", evs, fs, len(facts))
			}
			after, err := rl.LogHead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.N != before.N+2 {
				t.Fatalf("head went from %d to %d leaves, want two prune leaves more", before.N, after.N)
			}
			for i := int64(0); i < before.N; i++ {
				sl, err := rl.LogLeaf(ctx, i)
				if err != nil {
					t.Fatalf("leaf %d gone after retention: %v", i, err)
				}
				tree, p, err := rl.LogInclusion(ctx, i, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := receiptlog.CheckInclusion(p, tree, i, sl.Leaf); err != nil {
					t.Fatalf("leaf %d after retention: %v", i, err)
				}
			}
			ps, sum := f.verify(t)
			for _, p := range ps {
				t.Errorf("after retention: %s", p)
			}
			if sum.Pruned < evs+fs {
				t.Errorf("verify counted %d pruned rows, want >= %d", sum.Pruned, evs+fs)
			}
		})
	}
}

// TestBackfillLog: rows written before the receipt log existed (here: by
// a ledger opened without it) get their leaves at the next open, once;
// verify --log then finds nothing, and the leaves are provable.
func TestBackfillLog(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			u := testdb.URL(t, kind)
			dir := t.TempDir()
			old, err := ledgerdb.OpenWith(ctx, u, dir, ledgerdb.Options{NoReceiptLog: true})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 30; i++ {
				MustApplyLogged(t, old, fmt.Sprintf("C%d", i), "SIGNING")
			}
			if _, err := old.(store.AdminLog).AddAudit(ctx, store.AuditEntry{At: time.Now(), Who: "admin:x", Action: "POST /x"}); err != nil {
				t.Fatal(err)
			}
			if h, _ := old.(store.ReceiptLog).LogHead(ctx); h.N != 0 {
				t.Fatalf("a ledger without the log has %d leaves", h.N)
			}
			old.Close()
			l, err := ledgerdb.Open(ctx, u, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			head, err := l.(store.ReceiptLog).LogHead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// 30 events, contracts, documents and facts, one audit row.
			if head.N != 30*4+1 {
				t.Fatalf("backfill appended %d leaves, want %d", head.N, 30*4+1)
			}
			var ps []string
			if _, err := l.(store.LogVerifier).VerifyLog(ctx, store.LogVerifyOptions{PageSize: 7},
				func(p store.LogProblem) { ps = append(ps, p.String()) }); err != nil {
				t.Fatal(err)
			}
			if len(ps) > 0 {
				t.Fatalf("after the backfill: %v", ps)
			}
			n, err := sqlDB(t, l).BackfillLog(ctx)
			if err != nil || n != 0 {
				t.Fatalf("a second backfill appended %d leaves (%v), want none", n, err)
			}
		})
	}
}

// MustApplyLogged applies one change of contract cid with an event, a
// signatory, a document and a fact.
func MustApplyLogged(tb testing.TB, l store.Ledger, cid, status string) {
	tb.Helper()
	now := time.Now().UTC()
	payload := []byte(`{"contractId":"` + cid + `"}`)
	_, err := l.ApplyContract(context.Background(), store.ContractChange{
		Event: store.Event{ID: "ev-" + cid + "-" + status, Tenant: "default", Kind: "contract", Type: status, ContractID: cid,
			Source: "callback", ReceivedAt: now, Payload: payload},
		Contract: store.Contract{Tenant: "default", ID: cid, Status: status, Confirmed: true, UpdatedAt: now, Detail: payload,
			Signatories: []store.Signatory{{ID: cid + "-a", Status: status}},
			Documents:   []store.Document{{ID: cid + "-d", Title: "正文"}}},
		Facts: []store.Fact{{ID: "f-" + cid + "-" + status, Subject: "qys.ledger.default.contract." + status, Tenant: "default",
			ContractID: cid, Payload: payload}},
	})
	if err != nil {
		tb.Fatal(err)
	}
}
