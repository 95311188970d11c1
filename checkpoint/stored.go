package checkpoint

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/store"
)

// Errors of CheckStored, before Check's.
var (
	// ErrNoProof: the log gave no consistency proof from the checkpoint's
	// size (it names more leaves than the log holds, or a stored hash is
	// missing).
	ErrNoProof = errors.New("checkpoint: no consistency proof")
	// ErrNotPrefix: the checkpoint's tree, read from the log at its size,
	// is not a prefix of the tree it is checked against.
	ErrNotPrefix = errors.New("checkpoint: its tree is not a prefix of the log")
)

// Log is what CheckStored reads of the receipt log (store.ReceiptLog
// satisfies it).
type Log interface {
	// LogConsistency proves the tree of oldSize leaves a prefix of the
	// tree of newSize (0: the head) and returns both trees.
	LogConsistency(ctx context.Context, oldSize, newSize int64) (old, cur tlog.Tree, p tlog.TreeProof, err error)
}

// CheckStored checks a checkpoint as the ledger keeps it against the
// receipt log: the tree of c.Size leaves, read from log, is proved a
// prefix of against (the tree the caller rebuilt from the leaves; the
// zero Tree: the log's head), then Check checks c's note and stored
// time-stamps (their PEM certificates decoded) over that tree. The
// results are Check's; a failed proof wraps ErrNoProof or ErrNotPrefix
// and checks nothing else.
func (v *Verifier) CheckStored(ctx context.Context, log Log, c store.LogCheckpoint, against tlog.Tree, roots *x509.CertPool) (*Checkpoint, []StampCheck, error) {
	tree, cur, proof, err := log.LogConsistency(ctx, c.Size, against.N)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoProof, err)
	}
	if against.N != 0 {
		cur = against
	}
	if err := tlog.CheckTree(proof, cur.N, cur.Hash, tree.N, tree.Hash); err != nil {
		return nil, nil, fmt.Errorf("%w of %d leaves: %w", ErrNotPrefix, cur.N, err)
	}
	stamps := make([]StoredStamp, 0, len(c.Stamps))
	for _, s := range c.Stamps {
		stamps = append(stamps, StoredStamp{URL: s.TSAURL, Token: s.Token, Certs: PEMCerts(s.Certs)})
	}
	return v.Check(tree, c.Note, stamps, roots)
}
