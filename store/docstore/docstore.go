// Package docstore keeps archived documents as files under a root
// directory (the data dir), content-addressed:
//
//	documents/sha256/<ab>/<sha256>.<ext>            the file, named by its hash
//	documents/<tenant>/<contractID>/<documentID>.<ext>  a relative symlink to it
//
// Put writes the content file only and returns its path, which the
// ledger records with the hash: a file never changes once it has its
// name, so a row and the file it names can never disagree, whichever of
// two archivers of one document finishes last. The per-document symlink
// is a readable index that Link sets, replaced atomically (a new link
// renamed over the old); the archiver calls it only once the ledger
// accepted the content path, so a late archiver or a download found
// truncated after storing never re-points it at a file no row names.
//
// File names come only from sanitised ids, never from anything the remote
// side names (such as a Content-Disposition): a component made only of
// [A-Za-z0-9_.-] (at most 100 bytes, no leading dot, no "..") is used as is, anything else becomes
// "x" and its SHA-256 in hex, so no path can leave the root. The tenant
// names "sha256" (the content directory) is escaped the same way. All
// access goes through os.Root, which also refuses symbolic links out of it.
//
// Put streams through a fixed buffer, so memory stays flat whatever the
// size; it writes a temporary file under documents/.tmp, fsyncs it, and
// links it under its hash name only if that name is absent (a file there
// is already complete: it got its name the same way), then fsyncs the
// directories. An interrupted write never replaces a good file.
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
	"time"
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

var safeComponent = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]*$`)

// Component returns the path component for an id: the id itself when it
// is made of [A-Za-z0-9_.-], starts with none of '.', holds no "..", and
// is at most 100 bytes (so "c1.oplog", the operation log, stays
// readable), else "x" followed by the hex SHA-256 of the id.
func Component(id string) string {
	if len(id) <= maxComponent && safeComponent.MatchString(id) && !strings.Contains(id, "..") {
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

// Subdirectories of Dir: the content-addressed files, and the temporary
// files being written.
const (
	ContentDir = "sha256"
	tmpDir     = ".tmp"
)

// staleTemp is the age after which a temporary file is a crashed
// writer's leftover (a live writer's file is younger: it is written and
// linked within one download).
const staleTemp = 24 * time.Hour

// RelPath returns the path, relative to the root and with forward
// slashes, of a document's index entry: the symbolic link Link points at
// its content file.
func RelPath(tenant, contractID, documentID, ext string) (string, error) {
	if tenant == "" || contractID == "" || documentID == "" {
		return "", fmt.Errorf("docstore: tenant, contract id and document id are required")
	}
	t := Component(tenant)
	if t == ContentDir {
		t = "x" + hexSum(tenant)
	}
	return path.Join(Dir, t, Component(contractID), Component(documentID)+"."+extension(ext)), nil
}

// ContentPath returns the path of the file holding content with hash
// sha256hex (64 hex digits).
func ContentPath(sha256hex, ext string) (string, error) {
	if !hexSum64.MatchString(sha256hex) {
		return "", fmt.Errorf("docstore: %q is not a hex SHA-256", sha256hex)
	}
	return path.Join(Dir, ContentDir, sha256hex[:2], sha256hex+"."+extension(ext)), nil
}

var hexSum64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Put stores r as the document's content and returns the path of its
// content file relative to the root, its hex SHA-256 and its size. It
// leaves the document's index entry alone (see Link). The ids are
// checked as for RelPath. On any error no file is left behind.
func (s *Store) Put(ctx context.Context, tenant, contractID, documentID, ext string, r io.Reader) (relPath, sha256hex string, size int64, err error) {
	if _, err := RelPath(tenant, contractID, documentID, ext); err != nil {
		return "", "", 0, err
	}
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	defer root.Close()
	tmpd := path.Join(Dir, tmpDir)
	if err := root.MkdirAll(tmpd, 0o700); err != nil {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	removeStale(root, tmpd, "")
	tmp, f, err := createTemp(root, tmpd, "")
	if err != nil {
		return "", "", 0, err
	}
	defer func() { _ = root.Remove(tmp) }() // linked or not, the temporary name goes
	sum, size, err := s.write(ctx, f, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("docstore: close: %w", cerr)
	}
	if err != nil {
		return "", "", 0, err
	}
	rel, err := ContentPath(sum, ext)
	if err != nil {
		return "", "", 0, err
	}
	if err := root.MkdirAll(path.Dir(rel), 0o700); err != nil {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	// Link, never rename: a file already under the hash name is complete
	// and identical, and stays as it is.
	if err := root.Link(tmp, rel); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", "", 0, fmt.Errorf("docstore: %w", err)
	}
	if err := syncDirs(root, path.Dir(rel)); err != nil {
		return "", "", 0, err
	}
	return rel, sum, size, nil
}

var contentPathRE = regexp.MustCompile(`^` + Dir + `/` + ContentDir + `/([0-9a-f]{2})/([0-9a-f]{64})\.[a-z0-9]{1,10}$`)

// Link points the document's index entry (RelPath) at contentPath, a
// content path Put returned, which must exist. Call it only once the
// ledger names contentPath for the document, so the index never shows a
// file the ledger does not. A contentPath of another form is
// ErrInvalidPath; a missing file is fs.ErrNotExist.
func (s *Store) Link(tenant, contractID, documentID, ext, contentPath string) error {
	index, err := RelPath(tenant, contractID, documentID, ext)
	if err != nil {
		return err
	}
	m := contentPathRE.FindStringSubmatch(contentPath)
	if m == nil || m[1] != m[2][:2] {
		return fmt.Errorf("%w: %q is not a content path", ErrInvalidPath, contentPath)
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return fmt.Errorf("docstore: %w", err)
	}
	defer root.Close()
	info, err := root.Lstat(contentPath)
	if err != nil {
		return fmt.Errorf("docstore: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %q is not a regular file", ErrInvalidPath, contentPath)
	}
	return s.link(root, index, contentPath)
}

// link points the index entry at the content file: a new symbolic link
// under a temporary name renamed over the old entry.
func (s *Store) link(root *os.Root, index, content string) error {
	dir := path.Dir(index)
	if err := root.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("docstore: %w", err)
	}
	target, err := filepathRel(dir, content)
	if err != nil {
		return err
	}
	base := path.Base(index)
	removeStale(root, dir, tempPrefix(base))
	for range 10 {
		tmp := path.Join(dir, tempPrefix(base)+rand.Text())
		err := root.Symlink(target, tmp)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("docstore: %w", err)
		}
		if err := root.Rename(tmp, index); err != nil {
			_ = root.Remove(tmp)
			return fmt.Errorf("docstore: %w", err)
		}
		return syncDirs(root, dir)
	}
	return fmt.Errorf("docstore: cannot create a temporary link in %s", dir)
}

// filepathRel returns the relative slash path from directory dir to
// target, both relative to the root.
func filepathRel(dir, target string) (string, error) {
	up := strings.Count(dir, "/") + 1
	if dir == "." || dir == "" {
		up = 0
	}
	return strings.Repeat("../", up) + target, nil
}

// tempPrefix starts the name of the temporary links of one index entry.
func tempPrefix(base string) string { return ".tmp-" + base + "-" }

// removeStale deletes the temporary files with prefix in dir older than
// staleTemp: what a crashed writer left. A live writer's file is younger
// and is left alone.
func removeStale(root *os.Root, dir, prefix string) {
	d, err := root.Open(dir)
	if err != nil {
		return
	}
	entries, _ := d.ReadDir(-1)
	d.Close()
	cut := time.Now().Add(-staleTemp)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || (prefix == "" && !strings.HasPrefix(e.Name(), ".tmp-")) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cut) {
			_ = root.Remove(path.Join(dir, e.Name()))
		}
	}
}

// createTemp creates a new hidden file in dir.
func createTemp(root *os.Root, dir, base string) (string, *os.File, error) {
	for range 10 {
		name := path.Join(dir, ".tmp-"+base+rand.Text())
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
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

// syncDirs fsyncs dir and each parent up to the root, so the link and
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
// returned or an index entry (RelPath): relative, clean, under
// documents/; anything else is ErrInvalidPath. A missing file is
// fs.ErrNotExist.
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
