package receiptlog

import (
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// StoredHash is one stored hash of the tree (tlog's numbering: the hash of
// level L, number K is at tlog.StoredHashIndex(L, K)).
type StoredHash struct {
	Index int64
	Hash  tlog.Hash
}

// Frontier is the right edge of a tree of N records: the hashes of its
// maximal complete subtrees, at most one per set bit of N. An append
// reads nothing else, so a commit appends after reading one row (the
// head) instead of walking the stored hashes.
type Frontier struct {
	N      int64
	hashes []tlog.Hash // the subtrees, largest (leftmost) first
}

// FrontierIndexes lists the stored-hash indexes of the frontier of a tree
// of n records, largest subtree first.
func FrontierIndexes(n int64) []int64 {
	var out []int64
	var off int64
	for l := 62; l >= 0; l-- {
		if n&(1<<l) == 0 {
			continue
		}
		out = append(out, tlog.StoredHashIndex(l, off>>l))
		off += 1 << l
	}
	return out
}

// NewFrontier is the frontier of a tree of n records whose subtree hashes
// (in FrontierIndexes order) are hashes.
func NewFrontier(n int64, hashes []tlog.Hash) (*Frontier, error) {
	if n < 0 {
		return nil, fmt.Errorf("receiptlog: negative tree size %d", n)
	}
	if len(hashes) != bits.OnesCount64(uint64(n)) {
		return nil, fmt.Errorf("receiptlog: a tree of %d records has %d frontier hashes, got %d",
			n, bits.OnesCount64(uint64(n)), len(hashes))
	}
	return &Frontier{N: n, hashes: append([]tlog.Hash(nil), hashes...)}, nil
}

// DecodeFrontier reads the frontier of a tree of n records from b, the
// concatenated hashes of Encode.
func DecodeFrontier(n int64, b []byte) (*Frontier, error) {
	if len(b)%tlog.HashSize != 0 {
		return nil, fmt.Errorf("receiptlog: frontier of %d bytes is not whole hashes", len(b))
	}
	hs := make([]tlog.Hash, len(b)/tlog.HashSize)
	for i := range hs {
		copy(hs[i][:], b[i*tlog.HashSize:])
	}
	return NewFrontier(n, hs)
}

// Encode returns the frontier's hashes concatenated (DecodeFrontier).
func (f *Frontier) Encode() []byte {
	b := make([]byte, 0, len(f.hashes)*tlog.HashSize)
	for _, h := range f.hashes {
		b = append(b, h[:]...)
	}
	return b
}

// Tree is the tree head: its size and root hash.
func (f *Frontier) Tree() (tlog.Tree, error) {
	if f.N == 0 {
		return tlog.Tree{}, nil
	}
	h, err := tlog.TreeHash(f.N, f.reader(nil))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("receiptlog: tree hash: %w", err)
	}
	return tlog.Tree{N: f.N, Hash: h}, nil
}

// reader serves the frontier's hashes and those of extra.
func (f *Frontier) reader(extra map[int64]tlog.Hash) tlog.HashReaderFunc {
	idx := FrontierIndexes(f.N)
	return func(want []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(want))
	next:
		for i, w := range want {
			if h, ok := extra[w]; ok {
				out[i] = h
				continue
			}
			for j, x := range idx {
				if x == w {
					out[i] = f.hashes[j]
					continue next
				}
			}
			return nil, fmt.Errorf("receiptlog: stored hash %d is not on the frontier of %d records", w, f.N)
		}
		return out, nil
	}
}

// Append adds the records whose leaf hashes are leafHashes (Hash of their
// bytes) and returns the stored hashes to write, in index order. f then
// is the frontier of the larger tree.
func (f *Frontier) Append(leafHashes []tlog.Hash) ([]StoredHash, error) {
	var out []StoredHash
	extra := map[int64]tlog.Hash{}
	n := f.N
	for _, lh := range leafHashes {
		hs, err := tlog.StoredHashesForRecordHash(n, lh, f.readerAt(n, extra))
		if err != nil {
			return nil, fmt.Errorf("receiptlog: append record %d: %w", n, err)
		}
		base := tlog.StoredHashIndex(0, n)
		for i, h := range hs {
			extra[base+int64(i)] = h
			out = append(out, StoredHash{Index: base + int64(i), Hash: h})
		}
		n++
	}
	idx := FrontierIndexes(n)
	hashes := make([]tlog.Hash, len(idx))
	read := f.readerAt(f.N, extra)
	for i, x := range idx {
		h, err := read([]int64{x})
		if err != nil {
			return nil, err
		}
		hashes[i] = h[0]
	}
	f.N, f.hashes = n, hashes
	return out, nil
}

// readerAt serves the original frontier (of f.N records) and extra; n is
// only for the error message.
func (f *Frontier) readerAt(n int64, extra map[int64]tlog.Hash) tlog.HashReaderFunc {
	r := f.reader(extra)
	return func(want []int64) ([]tlog.Hash, error) {
		hs, err := r(want)
		if err != nil {
			return nil, fmt.Errorf("%w (appending at %d)", err, n)
		}
		return hs, nil
	}
}

// ErrBadProof: a proof does not check against the tree it was given for.
var ErrBadProof = errors.New("receiptlog: proof does not verify")

// ProveInclusion returns the inclusion proof of record n in tree t, reading
// the stored hashes it needs from r.
func ProveInclusion(t tlog.Tree, n int64, r tlog.HashReader) (tlog.RecordProof, error) {
	if n < 0 || n >= t.N {
		return nil, fmt.Errorf("receiptlog: record %d is not in a tree of %d", n, t.N)
	}
	p, err := tlog.ProveRecord(t.N, n, r)
	if err != nil {
		return nil, fmt.Errorf("receiptlog: prove record %d in %d: %w", n, t.N, err)
	}
	return p, nil
}

// CheckInclusion checks that the record whose leaf bytes are leaf is record
// n of tree t.
func CheckInclusion(p tlog.RecordProof, t tlog.Tree, n int64, leaf []byte) error {
	if err := tlog.CheckRecord(p, t.N, t.Hash, n, Hash(leaf)); err != nil {
		return fmt.Errorf("%w: record %d in tree %d: %v", ErrBadProof, n, t.N, err)
	}
	return nil
}

// ProveConsistency returns the proof that the tree of old.N records is a
// prefix of t, reading the stored hashes it needs from r.
func ProveConsistency(t tlog.Tree, oldN int64, r tlog.HashReader) (tlog.TreeProof, error) {
	if oldN < 1 || oldN > t.N {
		return nil, fmt.Errorf("receiptlog: no consistency proof from %d to %d", oldN, t.N)
	}
	p, err := tlog.ProveTree(t.N, oldN, r)
	if err != nil {
		return nil, fmt.Errorf("receiptlog: prove tree %d in %d: %w", oldN, t.N, err)
	}
	return p, nil
}

// CheckConsistency checks that old is a prefix of t.
func CheckConsistency(p tlog.TreeProof, t, old tlog.Tree) error {
	if err := tlog.CheckTree(p, t.N, t.Hash, old.N, old.Hash); err != nil {
		return fmt.Errorf("%w: tree %d in tree %d: %v", ErrBadProof, old.N, t.N, err)
	}
	return nil
}
