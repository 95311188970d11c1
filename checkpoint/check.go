package checkpoint

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/tsa"
)

// Errors of Check.
var (
	// ErrTreeMismatch: the checkpoint verifies but names another tree
	// than the one the caller rebuilt.
	ErrTreeMismatch = errors.New("checkpoint: the checkpoint is not the tree's")
	// ErrBadStamp: a stored time-stamp token does not verify for the
	// checkpoint.
	ErrBadStamp = errors.New("checkpoint: time-stamp does not verify")
)

// StoredStamp is a time-stamp token kept with a checkpoint: the
// authority's token over the signed checkpoint note (its exact bytes)
// and the certificates it came with (DER).
type StoredStamp struct {
	URL   string
	Token []byte
	Certs [][]byte
}

// StampCheck is what Check found of one stamp.
type StampCheck struct {
	URL string
	// Time is the authority's time (zero when the stamp does not verify).
	Time time.Time
	// Pinned: the chain reached one of the given roots.
	Pinned bool
	// Err is nil when the stamp verifies; else it wraps ErrBadStamp.
	Err error
}

// Check checks a stored checkpoint against tree (the tree the caller
// rebuilt from the stored leaves at the checkpoint's size): the note's
// signature by an accepted key, its origin, size and root hash, and every
// stamp (signature, chain to roots — or, when roots is nil, to a root the
// stamp carries —, critical timeStamping usage, imprint of the note's
// bytes). It returns the opened checkpoint and one StampCheck per stamp;
// the error joins every failure (ErrBadNote, ErrTreeMismatch, ErrBadStamp),
// nil when all hold. A checkpoint without stamps checks (it is not yet
// anchored: the caller reports it so).
func (v *Verifier) Check(tree tlog.Tree, msg []byte, stamps []StoredStamp, roots *x509.CertPool) (*Checkpoint, []StampCheck, error) {
	cp, err := v.Open(msg)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	if cp.Tree != tree {
		errs = append(errs, fmt.Errorf("%w: it says size %d root %s, the tree is size %d root %s",
			ErrTreeMismatch, cp.Tree.N, cp.Tree.Hash, tree.N, tree.Hash))
	}
	checks := make([]StampCheck, 0, len(stamps))
	for _, s := range stamps {
		c := StampCheck{URL: s.URL}
		certs, err := tsa.ParseCerts(s.Certs)
		if err == nil {
			var got *tsa.Verified
			if got, err = tsa.Verify(s.Token, msg, roots, certs); err == nil {
				c.Time, c.Pinned = got.Time, got.Pinned
			}
		}
		if err != nil {
			c.Err = fmt.Errorf("%w: %s: %v", ErrBadStamp, s.URL, err)
			errs = append(errs, c.Err)
		}
		checks = append(checks, c)
	}
	return cp, checks, errors.Join(errs...)
}

// PEMCerts returns the DER of each certificate of a PEM text (as
// log_stamps.certs stores them), for StoredStamp.Certs.
func PEMCerts(s string) [][]byte {
	var out [][]byte
	rest := []byte(s)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out
		}
		if b.Type == "CERTIFICATE" {
			out = append(out, b.Bytes)
		}
	}
}
