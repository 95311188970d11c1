package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/store"
)

// demoCheckpoint is the receipt log checkpoint the demo shows, verified.
type demoCheckpoint struct {
	Size int64 `json:"size"`
	// Root is the tree's root hash in base64, as the signed note has it.
	Root     string      `json:"root"`
	Origin   string      `json:"origin"`
	KeyID    string      `json:"key_id"`
	SignedAt time.Time   `json:"signed_at"`
	Note     string      `json:"note"`
	Stamps   []demoStamp `json:"stamps"`
	// RootPEM is where the authority's root certificate was written.
	RootPEM string `json:"tsa_root_pem"`
	// KeyFile is the log's verifier key (checkpoint.key.pub): what
	// `qyshook evidence verify --key` pins.
	KeyFile string `json:"verifier_key_file,omitempty"`
}

type demoStamp struct {
	TSA     string    `json:"tsa"`
	GenTime time.Time `json:"gen_time"`
	Pinned  bool      `json:"pinned"`
}

// waitAnchored waits until a time-stamped checkpoint covers the receipt
// log as the story left it, then checks its signature, its tree (read
// from the log at its size and proved a prefix of the head) and every
// stamp (against roots). It returns nil without
// error when the ledger keeps no receipt log.
func waitAnchored(ctx context.Context, ledger store.Ledger, keys *checkpoint.Verifier, roots *x509.CertPool) (*demoCheckpoint, error) {
	rl, ok := ledger.(store.ReceiptLog)
	cl, ok2 := ledger.(store.CheckpointLog)
	if !ok || !ok2 {
		return nil, nil
	}
	// The log as the story left it: every checkpoint adds leaves of its
	// own (its facts), so the newest never covers the head it grows.
	story, err := rl.LogHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("receipt log: %w", err)
	}
	for {
		st, err := cl.CheckpointStats(ctx)
		if err != nil {
			return nil, err
		}
		if c := st.LatestAnchored; c != nil && c.Size >= story.N {
			// Its tree, read from the log and proved a prefix of the head,
			// then its signature and time-stamps.
			cp, checks, err := keys.CheckStored(ctx, rl, *c, tlog.Tree{}, roots)
			if errors.Is(err, checkpoint.ErrNoProof) {
				return nil, fmt.Errorf("receipt log: %w", err)
			}
			if err != nil {
				return nil, fmt.Errorf("checkpoint %d does not verify: %w", c.Size, err)
			}
			out := &demoCheckpoint{Size: cp.Tree.N, Root: cp.Tree.Hash.String(), Origin: cp.Origin, KeyID: c.KeyID, SignedAt: c.CreatedAt.UTC(),
				Note: string(c.Note)}
			for _, k := range checks {
				out.Stamps = append(out.Stamps, demoStamp{TSA: k.URL, GenTime: k.Time.UTC(), Pinned: k.Pinned})
			}
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no anchored checkpoint of the story's receipt log in time: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *demoCheckpoint) print(w io.Writer) {
	if c == nil {
		fmt.Fprintln(w, "\nRECEIPT LOG: this build's ledger keeps no receipt log; no checkpoint to show.")
		return
	}
	fmt.Fprintf(w, "\nRECEIPT LOG CHECKPOINT (signed with the deployment's Ed25519 key %s, time-stamped by an RFC 3161 authority; "+
		"signature, tree and time-stamps verified)\n", c.KeyID)
	fmt.Fprintf(w, "  %d leaves, root %s, signed %s\n", c.Size, c.Root, c.SignedAt.Format(time.RFC3339))
	for _, s := range c.Stamps {
		fmt.Fprintf(w, "  time-stamp: %s by %s (chain to the pinned root: %s)\n", s.GenTime.Format(time.RFC3339), s.TSA, demoYes(s.Pinned))
	}
	fmt.Fprintf(w, "  the authority's root certificate: %s\n", c.RootPEM)
	fmt.Fprintln(w, "  the signed note:")
	for _, line := range splitLines(c.Note) {
		fmt.Fprintf(w, "    %s\n", line)
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
