// Package docstore keeps archived documents as files under a root
// directory (the data dir): documents/<tenant>/<contractID>/<documentID>.<ext>.
//
// File names come only from sanitised ids, never from anything the remote
// side names (such as a Content-Disposition): a component made only of
// [A-Za-z0-9_-] (at most 100 bytes) is used as is, anything else becomes
// "x" and its SHA-256 in hex, so no path can leave the root. All access
// goes through os.Root, which also refuses symbolic links out of it.
//
// Put streams through a fixed buffer, so memory stays flat whatever the
// size; it writes a temporary file in the target directory, fsyncs it,
// renames it into place and fsyncs the directories, so a crash leaves
// either the old file or the complete new one.
package docstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
)

// Dir is the directory under the root that holds the documents.
const Dir = "documents"

// Sentinel errors.
var (
	// ErrTooLarge: the stream exceeded the MaxSize option.
	ErrTooLarge = errors.New("docstore: document too large")
	// ErrInvalidPath: a path given to Open is not a document path.
	ErrInvalidPath = errors.New("docstore: invalid document path")
)

// bufSize is the copy buffer of Put.
const bufSize = 64 << 10

// maxComponent is the longest id kept verbatim in a path.
const maxComponent = 100

// Store writes and reads document files under a root directory.
type Store struct {
	root    string
	maxSize int64
}

// Option configures a Store.
type Option func(*Store)

// WithMaxSize makes Put fail with ErrTooLarge, leaving nothing behind,
// once a stream passes n bytes; n <= 0 means no limit (the default).
func WithMaxSize(n int64) Option {
	return func(s *Store) { s.maxSize = n }
}

// New returns a Store rooted at root (the data dir). The directory is
// created on the first Put.
func New(root string, opts ...Option) *Store {
	s := &Store{root: root}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Root returns the root directory.
func (s *Store) Root() string { return s.root }

var safeComponent = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Component returns the path component for an id: the id itself when it
// is made of [A-Za-z0-9_-] and at most 100 bytes, else "x" followed by
// the hex SHA-256 of the id.
func Component(id string) string {
	if len(id) <= maxComponent && safeComponent.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "x" + hex.EncodeToString(sum[:])
}

var safeExt = regexp.MustCompile(`^[a-z0-9]{1,10}$`)

// extension returns ext lower-cased without its dot when it is 1-10 of
// [a-z0-9], else "bin"; empty means "pdf".
func extension(ext string) string {
	ext = strings.ToLower(strings.TrimPrefix(ext, "."))
	switch {
	case ext == "":
		return "pdf"
	case safeExt.MatchString(ext):
		return ext
	default:
		return "bin"
	}
}

// RelPath returns the path, relative to the root and with forward
// slashes, where Put stores a document.
func RelPath(tenant, contractID, documentID, ext string) (string, error) {
	if tenant == "" || contractID == "" || documentID == "" {
		return "", fmt.Errorf("docstore: tenant, contract id and document id are required")
	}
	return path.Join(Dir, Component(tenant), Component(contractID),
		Component(documentID)+"."+extension(ext)), nil
}

// Put stores r as the document and returns its path relative to the
// root, its hex SHA-256 and its size. A document stored before is
// replaced atomically. On any error nothing is left behind.
func (s *Store) Put(ctx context.Context, tenant, contractID, documentID, ext string, r io.Reader) (relPath, sha256hex string, size int64, err error) {
	rel, err := RelPath(tenant, contractID, documentID, ext)
	if err != nil {
		return "", "", 0, err
	}
	if err := os.MkdirAll(s.root, 0o750); err != nil {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	defer root.Close()
	dir := path.Dir(rel)
	if err := root.MkdirAll(dir, 0o750); err != nil {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	tmp, f, err := createTemp(root, dir, path.Base(rel))
	if err != nil {
		return "", "", 0, err
	}
	sum, size, err := s.write(ctx, f, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("docstore: close: %w", cerr)
	}
	if err == nil {
		if rerr := root.Rename(tmp, rel); rerr != nil {
			err = fmt.Errorf("docstore: %w", rerr)
		}
	}
	if err != nil {
		_ = root.Remove(tmp)
		return "", "", 0, err
	}
	removeLeftovers(root, dir, path.Base(rel))
	if err := syncDirs(root, dir); err != nil {
		return "", "", 0, err
	}
	return rel, sum, size, nil
}

// tempPrefix starts the name of the temporary files of one document.
func tempPrefix(base string) string { return ".tmp-" + base + "-" }

// removeLeftovers deletes the temporary files a crashed writer left for
// the same document. A concurrent writer of the same document (two
// dispatchers racing) loses its file here; its rename then fails and it
// retries, finding the document archived.
func removeLeftovers(root *os.Root, dir, base string) {
	d, err := root.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		if strings.HasPrefix(n, tempPrefix(base)) {
			_ = root.Remove(path.Join(dir, n))
		}
	}
}

// createTemp creates a new hidden file in dir for the document base.
func createTemp(root *os.Root, dir, base string) (string, *os.File, error) {
	for range 10 {
		name := path.Join(dir, tempPrefix(base)+rand.Text())
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("docstore: %w", err)
		}
		return name, f, nil
	}
	return "", nil, fmt.Errorf("docstore: cannot create a temporary file in %s", dir)
}

// write copies r into f through a fixed buffer and the hash, then fsyncs.
func (s *Store) write(ctx context.Context, f *os.File, r io.Reader) (string, int64, error) {
	h := sha256.New()
	src := io.Reader(ctxReader{ctx, r})
	if s.maxSize > 0 {
		src = io.LimitReader(src, s.maxSize+1)
	}
	buf := make([]byte, bufSize)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), src, buf)
	if err != nil {
		return "", 0, fmt.Errorf("docstore: write: %w", err)
	}
	if s.maxSize > 0 && n > s.maxSize {
		return "", 0, fmt.Errorf("%w: over %d bytes", ErrTooLarge, s.maxSize)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("docstore: sync: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// syncDirs fsyncs dir and each parent up to the root, so the rename and
// any directories MkdirAll created survive a crash.
func syncDirs(root *os.Root, dir string) error {
	for {
		d, err := root.Open(dir)
		if err != nil {
			return fmt.Errorf("docstore: %w", err)
		}
		err = d.Sync()
		_ = d.Close()
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return fmt.Errorf("docstore: sync %s: %w", dir, err)
		}
		if dir == "." {
			return nil
		}
		dir = path.Dir(dir)
	}
}

// Open opens a stored document for reading. relPath must be a path Put
// returned: relative, clean, under documents/; anything else is
// ErrInvalidPath. A missing file is fs.ErrNotExist.
func (s *Store) Open(relPath string) (*os.File, error) {
	if !fs.ValidPath(relPath) || !strings.HasPrefix(relPath, Dir+"/") || strings.Contains(relPath, "\\") {
		return nil, fmt.Errorf("%w: %q", ErrInvalidPath, relPath)
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return nil, fmt.Errorf("docstore: %w", err)
	}
	defer root.Close()
	f, err := root.Open(relPath)
	if err != nil {
		return nil, fmt.Errorf("docstore: %w", err)
	}
	return f, nil
}

// ctxReader stops reading once ctx is done. It also hides any WriterTo of
// the source, so the copy goes through Put's fixed buffer.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
