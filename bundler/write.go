package bundler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
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

// written is a bundle zip written: its path relative to the data dir,
// SHA-256 and size, and whether this call created the file (false: a
// file of the same name, so the same bytes, was there already).
type written struct {
	rel     string
	sum     string
	size    int64
	created bool
}

// write writes the bundle of c into dir (relative to the data dir) as
// v<N>-<first 12 hex digits of its SHA-256>.zip: a temporary file in the
// same directory, synced, then linked to that name (never over an
// existing file: a second builder of the same version writes another
// name, or finds its own bytes there), the directory synced.
func (b *Bundler) write(dir string, c evidence.Contents) (written, error) {
	abs := filepath.Join(b.o.DataDir, filepath.FromSlash(dir))
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return written{}, fmt.Errorf("bundler: %w", err)
	}
	f, err := os.CreateTemp(abs, ".bundle-*.tmp")
	if err != nil {
		return written{}, fmt.Errorf("bundler: %w", err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // the final name is a link of its own
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := evidence.Write(cw, c, b.o.Signer); err != nil {
		f.Close()
		return written{}, fmt.Errorf("bundler: write bundle: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return written{}, fmt.Errorf("bundler: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return written{}, fmt.Errorf("bundler: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	name := fmt.Sprintf("v%d-%s.zip", c.Version, sum[:12])
	w := written{rel: path.Join(dir, name), sum: sum, size: cw.n, created: true}
	dst := filepath.Join(abs, name)
	if err := os.Link(tmp, dst); errors.Is(err, fs.ErrExist) {
		// Another builder wrote this name: the same bytes, unless the
		// 48-bit prefix collides, which is checked.
		got, err := fileSHA256(dst)
		if err != nil {
			return written{}, fmt.Errorf("bundler: %w", err)
		}
		if got != sum {
			return written{}, fmt.Errorf("bundler: %s exists with other bytes (sha256 %s, this bundle %s)", w.rel, got, sum)
		}
		w.created = false
	} else if err != nil {
		return written{}, fmt.Errorf("bundler: %w", err)
	}
	if d, err := os.Open(abs); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return written{}, fmt.Errorf("bundler: sync %s: %w", abs, err)
		}
	}
	return w, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
