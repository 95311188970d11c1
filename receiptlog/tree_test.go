package receiptlog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// memHashes is every stored hash, as tlog's own tests keep them.
type memHashes map[int64]tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := m[x]
		if !ok {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = h
	}
	return out, nil
}

// TestFrontierAppendMatchesTlog appends random batches through the
// frontier and checks every stored hash and every tree head against tlog
// computing them from all stored hashes; then proofs of each kind verify
// and fail on a changed leaf.
func TestFrontierAppendMatchesTlog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f, err := NewFrontier(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := memHashes{}
	var leaves [][]byte
	var heads []tlog.Tree
	for len(leaves) < 700 {
		batch := make([]tlog.Hash, 1+rng.IntN(9))
		for i := range batch {
			b := []byte(fmt.Sprintf(`{"leaf":%d}`, len(leaves)))
			leaves = append(leaves, b)
			batch[i] = Hash(b)
		}
		n0 := f.N
		got, err := f.Append(batch)
		if err != nil {
			t.Fatal(err)
		}
		var want []StoredHash
		for i, h := range batch {
			hs, err := tlog.StoredHashesForRecordHash(n0+int64(i), h, all)
			if err != nil {
				t.Fatal(err)
			}
			base := tlog.StoredHashIndex(0, n0+int64(i))
			for j, x := range hs {
				all[base+int64(j)] = x
				want = append(want, StoredHash{base + int64(j), x})
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("append at %d: stored hashes differ from tlog's", n0)
		}
		head, err := f.Tree()
		if err != nil {
			t.Fatal(err)
		}
		root, err := tlog.TreeHash(f.N, all)
		if err != nil {
			t.Fatal(err)
		}
		if head.N != int64(len(leaves)) || head.Hash != root {
			t.Fatalf("head %d %v, tlog says %d %v", head.N, head.Hash, len(leaves), root)
		}
		// The head survives an encode/decode round trip.
		g, err := DecodeFrontier(f.N, f.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if h2, _ := g.Tree(); h2 != head {
			t.Fatalf("decoded frontier gives %v, want %v", h2, head)
		}
		heads = append(heads, head)
	}
	last := heads[len(heads)-1]
	for i := 0; i < 200; i++ {
		n := rng.Int64N(last.N)
		p, err := ProveInclusion(last, n, all)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckInclusion(p, last, n, leaves[n]); err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
		if err := CheckInclusion(p, last, n, append([]byte("x"), leaves[n]...)); !errors.Is(err, ErrBadProof) {
			t.Fatalf("a changed leaf %d checked: %v", n, err)
		}
		old := heads[rng.IntN(len(heads))]
		tp, err := ProveConsistency(last, old.N, all)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckConsistency(tp, last, old); err != nil {
			t.Fatalf("%d in %d: %v", old.N, last.N, err)
		}
		forked := old
		forked.Hash[0] ^= 1
		if err := CheckConsistency(tp, last, forked); !errors.Is(err, ErrBadProof) {
			t.Fatalf("a forked head %d checked: %v", old.N, err)
		}
	}
}

func TestFrontierRefusesBadInput(t *testing.T) {
	if _, err := NewFrontier(3, nil); err == nil {
		t.Error("a tree of 3 records without frontier hashes was accepted")
	}
	if _, err := DecodeFrontier(1, make([]byte, 31)); err == nil {
		t.Error("a frontier of 31 bytes was accepted")
	}
	if _, err := ProveInclusion(tlog.Tree{N: 2}, 2, memHashes{}); err == nil {
		t.Error("a proof of record 2 in a tree of 2 was given")
	}
	if _, err := ProveConsistency(tlog.Tree{N: 2}, 3, memHashes{}); err == nil {
		t.Error("a consistency proof from 3 to 2 was given")
	}
}
