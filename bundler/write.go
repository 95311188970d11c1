package bundler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/store"
)

// checkpoint picks the checkpoint the bundle's proofs are against: one
// whose tree holds leaf maxIdx. With anchoring on, the latest anchored
// one; when none covers the leaves and the anchoring backlog is older
// than MaxDelay, the latest signed one (the summary says so). Without
// anchoring, the latest signed one.
func (b *Bundler) checkpoint(ctx context.Context, maxIdx int64, s *evidence.Summary) (*store.LogCheckpoint, error) {
	st, err := b.o.Ledger.CheckpointStats(ctx)
	if err != nil {
		return nil, fmt.Errorf("bundler: checkpoints: %w", err)
	}
	covers := func(c *store.LogCheckpoint) bool { return c != nil && c.Size > maxIdx }
	if !b.o.Anchoring {
		if covers(st.Latest) {
			if !st.Latest.Anchored() {
				s.Notes = append(s.Notes, "The checkpoint is signed but not time-stamped: no time-stamping authority is configured (QYSHOOK_TSA_URLS).")
			}
			return st.Latest, nil
		}
		return nil, fmt.Errorf("%w (leaf %d; latest checkpoint %s)", ErrWaiting, maxIdx, sizeOf(st.Latest))
	}
	if covers(st.LatestAnchored) {
		return st.LatestAnchored, nil
	}
	if covers(st.Latest) && st.OldestUnanchored != nil && b.o.Now().Sub(*st.OldestUnanchored) > b.o.MaxDelay {
		s.Notes = append(s.Notes, fmt.Sprintf("The checkpoint is signed but not time-stamped: no time-stamping authority answered within %s (QYSHOOK_TSA_MAX_DELAY). A later bundle version is not built for that alone.", b.o.MaxDelay))
		return st.Latest, nil
	}
	return nil, fmt.Errorf("%w (leaf %d; latest anchored checkpoint %s)", ErrWaiting, maxIdx, sizeOf(st.LatestAnchored))
}

func sizeOf(c *store.LogCheckpoint) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("of size %d", c.Size)
}

// write writes the bundle to rel under the data dir: a temporary file in
// the same directory, synced, renamed over the name, the directory
// synced. It returns the zip's SHA-256 and size.
func (b *Bundler) write(rel string, c evidence.Contents) (string, int64, error) {
	dst := filepath.Join(b.o.DataDir, filepath.FromSlash(rel))
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, fmt.Errorf("bundler: %w", err)
	}
	f, err := os.CreateTemp(dir, ".bundle-*.tmp")
	if err != nil {
		return "", 0, fmt.Errorf("bundler: %w", err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // a no-op after the rename
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := evidence.Write(cw, c, b.o.Signer); err != nil {
		f.Close()
		return "", 0, fmt.Errorf("bundler: write bundle: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", 0, fmt.Errorf("bundler: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("bundler: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", 0, fmt.Errorf("bundler: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return "", 0, fmt.Errorf("bundler: sync %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
