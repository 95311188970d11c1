package admin

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/receiptlog"
)

func mustTree(t *testing.T, v adminapi.LogTree) tlog.Tree {
	t.Helper()
	h, err := tlog.ParseHash(v.Root)
	if err != nil {
		t.Fatalf("root %q: %v", v.Root, err)
	}
	return tlog.Tree{N: v.Size, Hash: h}
}

func mustHashes(t *testing.T, ss []string) []tlog.Hash {
	t.Helper()
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		h, err := tlog.ParseHash(s)
		if err != nil {
			t.Fatalf("hash %q: %v", s, err)
		}
		out[i] = h
	}
	return out
}

// TestLogRoutesProve: what GET /log/proof and /log/consistency answer
// checks with tlog alone (the way an outsider would check it), for a
// contract's leaves and between an older head and the current one; a
// changed leaf does not check.
func TestLogRoutesProve(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixtureKind(t, kind)
			base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
			var old adminapi.LogTree
			if st := f.get(t, viewerToken, "/log", &old); st != http.StatusOK || old.Size == 0 {
				t.Fatalf("GET /log = %d %+v", st, old)
			}
			MustApply(t, f.ledger, "default", "c2", "SIGNING", base)
			MustApply(t, f.ledger, "default", "c1", "COMPLETE", base.Add(time.Hour))
			var ps adminapi.LogProofs
			if st := f.get(t, viewerToken, "/log/proof?contract=c1", &ps); st != http.StatusOK {
				t.Fatalf("GET /log/proof = %d", st)
			}
			if len(ps.Leaves) != 2 {
				t.Fatalf("contract c1 has %d leaves, want 2 (SIGNING, COMPLETE)", len(ps.Leaves))
			}
			tree := mustTree(t, ps.Tree)
			for _, l := range ps.Leaves {
				if err := tlog.CheckRecord(mustHashes(t, l.Proof), tree.N, tree.Hash, l.Index, tlog.RecordHash([]byte(l.Leaf))); err != nil {
					t.Fatalf("leaf %d: %v", l.Index, err)
				}
				if _, err := receiptlog.Parse([]byte(l.Leaf)); err != nil {
					t.Fatalf("leaf %d: %v", l.Index, err)
				}
				forged := tlog.RecordHash([]byte(l.Leaf + " "))
				if err := tlog.CheckRecord(mustHashes(t, l.Proof), tree.N, tree.Hash, l.Index, forged); err == nil {
					t.Fatalf("a changed leaf %d checked", l.Index)
				}
			}
			// The contract page's timeline shows each item's log position.
			var cd adminapi.ContractDetail
			if st := f.get(t, viewerToken, "/contracts/default/c1", &cd); st != http.StatusOK {
				t.Fatalf("GET /contracts/default/c1 = %d", st)
			}
			if len(cd.LogIndexes) != 2 || cd.LogIndexes[0] != ps.Leaves[0].Index || cd.LogIndexes[1] != ps.Leaves[1].Index {
				t.Errorf("contract log_indexes %v, its proofs name %d and %d", cd.LogIndexes, ps.Leaves[0].Index, ps.Leaves[1].Index)
			}
			for _, e := range cd.Events {
				if e.LogIndex == nil {
					t.Errorf("event %s has no log_index", e.ID)
				}
			}
			var c adminapi.LogConsistency
			if st := f.get(t, viewerToken, "/log/consistency?from="+itoa(old.Size), &c); st != http.StatusOK {
				t.Fatalf("GET /log/consistency = %d", st)
			}
			o, n := mustTree(t, c.Old), mustTree(t, c.New)
			if o != mustTree(t, old) {
				t.Fatalf("old tree %+v, the head was %+v", c.Old, old)
			}
			if err := tlog.CheckTree(mustHashes(t, c.Proof), n.N, n.Hash, o.N, o.Hash); err != nil {
				t.Fatal(err)
			}
			o.Hash[0] ^= 1
			if err := tlog.CheckTree(mustHashes(t, c.Proof), n.N, n.Hash, o.N, o.Hash); err == nil {
				t.Fatal("a forked old head checked")
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
