package qystest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
)

// DefaultDocumentSize is the size of a generated document when a
// DocumentSpec gives neither Content nor Size and the fake cannot render
// a real PDF (it normally does: see evidence.go).
const DefaultDocumentSize = 4096

// DocumentSpec describes one document of a contract.
type DocumentSpec struct {
	// ID is the document id; generated (numeric string) when empty.
	ID string
	// Title is the document title (default "document-N").
	Title string
	// Content is the file served by the download endpoints. When nil, Size
	// bytes of deterministic PDF-looking content are generated on the fly
	// (never held in memory, so a 512 MiB document is cheap).
	Content []byte
	// Size is the size of generated content (default DefaultDocumentSize).
	// Ignored when Content is set.
	Size int64
	// Filename is the name sent in Content-Disposition and used inside
	// contract zips (default Title + ".pdf"). Set it to something hostile
	// such as "../../evil.pdf" to test that callers never trust it.
	Filename string
}

type document struct {
	id, contractID string
	title          string
	filename       string
	content        []byte
	size           int64

	pdf    bool // rendered by the fake (evidence.go)
	signed bool // signed by the fake (evidence.go)

	shaOnce sync.Once
	sha     string
}

func (s *Server) newDocumentLocked(contractID string, spec DocumentSpec, n int) *document {
	if spec.ID == "" {
		spec.ID = s.nextIDLocked(documentIDBase)
	}
	if _, dup := s.docs[spec.ID]; dup {
		panic("qystest: duplicate document id " + spec.ID)
	}
	if spec.Title == "" {
		spec.Title = fmt.Sprintf("document-%d", n)
	}
	if spec.Filename == "" {
		spec.Filename = spec.Title
		if !strings.HasSuffix(strings.ToLower(spec.Filename), ".pdf") {
			spec.Filename += ".pdf"
		}
	}
	d := &document{id: spec.ID, contractID: contractID, title: spec.Title, filename: spec.Filename}
	switch {
	case spec.Content != nil:
		d.content = bytes.Clone(spec.Content)
		d.size = int64(len(d.content))
	case spec.Size > 0:
		d.size = spec.Size
	default:
		d.size = DefaultDocumentSize
		if b := s.renderDocumentLocked(d); b != nil {
			d.content, d.size = b, int64(len(b))
		}
	}
	s.docs[d.id] = d
	return d
}

// open returns the document's bytes as a stream.
func (d *document) open() io.Reader {
	if d.content != nil {
		return bytes.NewReader(d.content)
	}
	return generate(d.id, d.size)
}

// sum returns the lowercase hex SHA-256 of the content, computing it once
// (for generated content, by streaming the generator).
func (d *document) sum() string {
	d.shaOnce.Do(func() {
		h := sha256.New()
		_, _ = io.Copy(h, d.open())
		d.sha = hex.EncodeToString(h.Sum(nil))
	})
	return d.sha
}

// generate returns size deterministic bytes for the document id: a PDF
// header, ChaCha8 noise seeded by the id, and a %%EOF trailer.
func generate(id string, size int64) io.Reader {
	head := "%PDF-1.7\n%qystest document " + id + "\n"
	tail := "\n%%EOF\n"
	fixed := int64(len(head) + len(tail))
	if size <= fixed {
		return io.LimitReader(strings.NewReader(head+tail), size)
	}
	seed := sha256.Sum256([]byte("qystest:" + id))
	return io.MultiReader(strings.NewReader(head),
		io.LimitReader(rand.NewChaCha8(seed), size-fixed),
		strings.NewReader(tail))
}

// DocumentSHA256 returns the lowercase hex SHA-256 of a document's content
// ("" for an unknown id). For a large generated document the first call
// streams the whole content through the hash.
func (s *Server) DocumentSHA256(documentID string) string {
	s.mu.Lock()
	d := s.docs[documentID]
	s.mu.Unlock()
	if d == nil {
		return ""
	}
	return d.sum()
}

// DocumentContent returns a reader over a document's content (nil for an
// unknown id), for tests that compare bytes rather than hashes.
func (s *Server) DocumentContent(documentID string) io.Reader {
	s.mu.Lock()
	d := s.docs[documentID]
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	return d.open()
}
