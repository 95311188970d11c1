package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/store"
)

// ErrNoCheckpointKey: verify --log found checkpoints but no key to check
// their signatures with (no key file, no QYSHOOK_LOG_VERIFIER_KEYS).
var ErrNoCheckpointKey = errors.New("no checkpoint key: set QYSHOOK_LOG_KEY or QYSHOOK_LOG_VERIFIER_KEYS")

// CheckpointVerifier is the verifier of the receipt log's checkpoints:
// the signer key file's (read, never generated) and the earlier keys of
// QYSHOOK_LOG_VERIFIER_KEYS.
func (s *Services) CheckpointVerifier() (*checkpoint.Verifier, error) {
	path, _ := s.KeyFile()
	a := s.Cfg.Anchor
	if _, err := os.Stat(path); err == nil {
		k, err := checkpoint.New(checkpoint.Options{Origin: a.Origin, KeyFile: path, VerifierKeys: a.VerifierKeys})
		if err != nil {
			return nil, fmt.Errorf("QYSHOOK_LOG_KEY: %w", err)
		}
		return k.Verifier(), nil
	}
	if len(a.VerifierKeys) == 0 {
		return nil, ErrNoCheckpointKey
	}
	v, err := checkpoint.NewVerifier(a.Origin, a.VerifierKeys...)
	if err != nil {
		return nil, fmt.Errorf("QYSHOOK_LOG_VERIFIER_KEYS: %w", err)
	}
	return v, nil
}

// CheckpointsChecked is what CheckLogCheckpoints found.
type CheckpointsChecked struct {
	// Checked counts the checkpoints read; Anchored those with at least
	// one time-stamp that verifies; Pinned those with one whose chain
	// reaches a root of QYSHOOK_TSA_ROOTS (without it, a token's own root
	// is taken, which someone who rewrote the database could have made).
	Checked, Anchored, Pinned int
}

// CheckLogCheckpoints checks every stored checkpoint against the tree
// verify --log rebuilt from the leaves: the checkpoint's tree (read from
// the stored hashes at its size) is a prefix of the rebuilt tree
// (consistency proof checked against the rebuilt root), the note is
// signed by an accepted key and names that tree, and each time-stamp
// verifies over the note (QYSHOOK_TSA_ROOTS pins the roots; without it
// the root a token carries). Each failure is reported as a problem
// naming the checkpoint. wired is false when the ledger keeps no
// checkpoints.
func (s *Services) CheckLogCheckpoints(ctx context.Context, rebuilt tlog.Tree, report func(store.LogProblem)) (got CheckpointsChecked, wired bool, err error) {
	cl, ok := s.Ledger.(store.CheckpointLog)
	rl, ok2 := s.Ledger.(store.ReceiptLog)
	if !ok || !ok2 {
		return got, false, nil
	}
	var v *checkpoint.Verifier
	roots, err := s.TSARoots()
	if err != nil {
		return got, true, err
	}
	for before := int64(0); ; {
		cps, err := cl.Checkpoints(ctx, store.CheckpointFilter{BeforeSize: before, Limit: 200})
		if err != nil {
			return got, true, err
		}
		if len(cps) == 0 {
			return got, true, nil
		}
		if v == nil {
			if v, err = s.CheckpointVerifier(); err != nil {
				return got, true, err
			}
		}
		for _, cp := range cps {
			got.Checked++
			anchored, pinned := s.checkCheckpoint(ctx, rl, v, roots, rebuilt, cp, report)
			if anchored {
				got.Anchored++
			}
			if pinned {
				got.Pinned++
			}
		}
		before = cps[len(cps)-1].Size
	}
}

// StampBeforeCheckpoint is how far before a checkpoint's signing time a
// time-stamp over it may say it was made (clocks differ a little): an
// earlier one is impossible, so it is reported.
const StampBeforeCheckpoint = 5 * time.Minute

// checkCheckpoint checks one checkpoint (CheckLogCheckpoints) and reports
// whether a time-stamp over it verified, and whether one reached a pinned
// root.
func (s *Services) checkCheckpoint(ctx context.Context, rl store.ReceiptLog, v *checkpoint.Verifier, roots *x509.CertPool,
	rebuilt tlog.Tree, cp store.LogCheckpoint, report func(store.LogProblem)) (anchored, pinned bool) {
	what := fmt.Sprintf("checkpoint %d", cp.Size)
	bad := func(format string, args ...any) {
		report(store.LogProblem{What: what, Leaf: -1, Problem: fmt.Sprintf(format, args...)})
	}
	if cp.Size > rebuilt.N {
		bad("names %d leaves, the rebuilt log has %d: leaves were deleted after it was signed", cp.Size, rebuilt.N)
		return false, false
	}
	_, checks, err := v.CheckStored(ctx, rl, cp, rebuilt, roots)
	if errors.Is(err, checkpoint.ErrNoProof) || errors.Is(err, checkpoint.ErrNotPrefix) {
		bad("against the rebuilt log: %v", err)
		return false, false
	}
	if err != nil {
		bad("%v", err)
	}
	for _, c := range checks {
		if c.Err != nil {
			continue
		}
		if c.Time.Before(cp.CreatedAt.Add(-StampBeforeCheckpoint)) {
			bad("time-stamp by %s says %s, before the checkpoint was signed (%s)", c.URL,
				c.Time.UTC().Format(time.RFC3339), cp.CreatedAt.UTC().Format(time.RFC3339))
			continue
		}
		anchored = true
		pinned = pinned || c.Pinned
	}
	return anchored, pinned
}
