package sqlstore_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
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
