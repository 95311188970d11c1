package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
)

// VerifyOptions say what Verify trusts beyond the bundle.
type VerifyOptions struct {
	// VerifierKeys are the log's note verifier keys the checkpoint and
	// manifest.sig must be signed by. Empty: the bundle's own
	// log/verifier.key is used, and the lines say "not pinned".
	VerifierKeys []string
	// TSARoots are the roots the time-stamps must chain to. Nil: a root
	// the token carries stands in ("not pinned").
	TSARoots *x509.CertPool
	// PDFRoots are the roots every PDF signer must chain to. Nil: the
	// PDFs' integrity is checked, their signers' trust is not.
	PDFRoots *x509.CertPool
}

// Result is what Verify found: one Line per check, and how many failed.
type Result struct {
	Lines    []Line   `json:"lines"`
	Problems int      `json:"problems"`
	Manifest Manifest `json:"manifest"`
}

// Limits of what Verify reads.
const (
	maxManifest = 64 << 20
	maxSig      = 64 << 10
	maxFile     = 2 << 30
)

// ErrNotBundle: the bytes are not a zip at all (a bundle with wrong
// content is a Result with problems, not an error).
var ErrNotBundle = errors.New("evidence: not a zip bundle")

// Verify checks the bundle of size bytes at r with no network and no data
// dir: the zip lists only manifest-listed files (and manifest.json and
// manifest.sig); each file's size, SHA-256 and SM3; manifest.sig against
// the pinned verifier keys (or the bundle's own key); the checkpoint's
// signature; each leaf's form and inclusion proof; each item's binding;
// each time-stamp over the checkpoint; each PDF offline (pdfverify) and
// each verification material (ValidationData.Reshow). It returns an error
// only when r is not a zip or cannot be read.
func Verify(ctx context.Context, r io.ReaderAt, size int64, o VerifyOptions) (*Result, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	var ck checker
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if dir, ok := strings.CutSuffix(f.Name, "/"); ok && f.UncompressedSize64 == 0 && checkPath(dir) == nil {
			continue // a directory entry (a bundle re-zipped by hand): no content
		}
		if err := checkPath(f.Name); err != nil {
			ck.bad(entryName(f.Name), "unsafe name in the zip: %v", err)
			continue
		}
		if entries[f.Name] != nil {
			ck.bad(f.Name, "the zip holds two files of this name")
			continue
		}
		entries[f.Name] = f
	}
	res := &Result{}
	mj, m := readManifest(&ck, entries)
	keys, pinned := o.VerifierKeys, len(o.VerifierKeys) > 0
	data := map[string][]byte{}
	if m != nil {
		res.Manifest = *m
		data = readFiles(ctx, &ck, entries, m)
		if !pinned {
			keys = ownKey(entries)
		}
	}
	if mj != nil {
		readSig(&ck, entries, mj, keys, pinned)
	}
	if m != nil {
		if b := rebuild(&ck, m, data); b != nil {
			ck.contents(ctx, b, checkOptions{keys: keys, pinned: pinned, tsaRoots: o.TSARoots, pdfRoots: o.PDFRoots})
			ck.tree(m, b, keys)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Lines = ck.lines
	for _, l := range ck.lines {
		if !l.OK {
			res.Problems++
		}
	}
	return res, nil
}

// entryName is how a line names a zip entry (never "").
func entryName(name string) string {
	if name == "" {
		return "(a zip entry without a name)"
	}
	return name
}

// ownKey is the bundle's own log/verifier.key, read whatever its hash (a
// mismatch has its own line): what the bundle claims, for an unpinned check.
func ownKey(entries map[string]*zip.File) []string {
	f := entries[PathVerifierKey]
	if f == nil {
		return nil
	}
	b, err := readEntry(f, maxSig)
	if err != nil {
		return nil
	}
	return []string{strings.TrimSpace(string(b))}
}

// readEntry reads a zip entry, at most limit bytes (more is an error).
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

func readManifest(ck *checker, entries map[string]*zip.File) ([]byte, *Manifest) {
	f := entries[PathManifest]
	if f == nil {
		ck.bad(PathManifest, "the bundle has no manifest.json")
		return nil, nil
	}
	mj, err := readEntry(f, maxManifest)
	if err != nil {
		ck.bad(PathManifest, "cannot read: %v", err)
		return nil, nil
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mj)) // lenient: later v1 writers may add fields
	if err := dec.Decode(&m); err != nil || dec.More() {
		ck.bad(PathManifest, "not a manifest: %v", err)
		return mj, nil
	}
	if m.Format != Format {
		ck.bad(PathManifest, "format %q, this verifier reads %q", m.Format, Format)
		return mj, nil
	}
	ck.ok(PathManifest, "%s, contract %s of tenant %s, version %d, state %s, %d files", m.Format, m.ContractID,
		m.Tenant, m.Version, m.State, len(m.Files))
	return mj, &m
}

func readSig(ck *checker, entries map[string]*zip.File, mj []byte, keys []string, pinned bool) {
	f := entries[PathManifestSig]
	if f == nil {
		ck.bad(PathManifestSig, "the bundle has no manifest.sig")
		return
	}
	unvouched := func() {
		ck.bad(PathManifest, "its sha256 %s cannot be checked against manifest.sig", sha256Hex(mj))
	}
	sig, err := readEntry(f, maxSig)
	if err != nil {
		ck.bad(PathManifestSig, "cannot read: %v", err)
		unvouched()
		return
	}
	var vs []note.Verifier
	for _, k := range keys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			ck.bad(PathManifestSig, "verifier key %q: %v", k, err)
			unvouched()
			return
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		ck.bad(PathManifestSig, "no verifier key: pin one (--key) or keep log/verifier.key in the bundle")
		unvouched()
		return
	}
	n, err := note.Open(sig, note.VerifierList(vs...))
	if err != nil {
		ck.bad(PathManifestSig, "the signature does not verify: %v", err)
		unvouched()
		return
	}
	ck.ok(PathManifestSig, "signed by %s (key %08x, %s)", n.Sigs[0].Name, n.Sigs[0].Hash, pinnedWord(pinned))
	if n.Text != sigText(mj) {
		ck.bad(PathManifest, "its sha256 %s is not the one manifest.sig signs", sha256Hex(mj))
		return
	}
	ck.ok(PathManifest, "its sha256 %s is the one manifest.sig signs", sha256Hex(mj))
}

// readFiles checks every file against the manifest and returns their bytes.
func readFiles(ctx context.Context, ck *checker, entries map[string]*zip.File, m *Manifest) map[string][]byte {
	data := map[string][]byte{}
	listed := map[string]bool{PathManifest: true, PathManifestSig: true}
	for _, f := range m.Files {
		if ctx.Err() != nil {
			return data
		}
		if err := checkPath(f.Path); err != nil {
			ck.bad(f.Path, "unsafe path in the manifest: %v", err)
			continue
		}
		if listed[f.Path] {
			ck.bad(f.Path, "listed twice in the manifest")
			continue
		}
		listed[f.Path] = true
		e := entries[f.Path]
		if e == nil {
			ck.bad(f.Path, "listed in the manifest, missing from the zip")
			continue
		}
		if f.Size < 0 || f.Size > maxFile {
			ck.bad(f.Path, "size %d out of range", f.Size)
			continue
		}
		b, err := readEntry(e, f.Size)
		switch {
		case err != nil:
			ck.bad(f.Path, "cannot read: %v (the manifest says %d bytes)", err, f.Size)
			continue
		case int64(len(b)) != f.Size:
			ck.bad(f.Path, "%d bytes, the manifest says %d", len(b), f.Size)
			continue
		case sha256Hex(b) != f.SHA256:
			ck.bad(f.Path, "sha256 %s, the manifest says %s", sha256Hex(b), f.SHA256)
			continue
		case f.SM3 != "" && sm3Hex(b) != f.SM3:
			ck.bad(f.Path, "sm3 %s, the manifest says %s", sm3Hex(b), f.SM3)
			continue
		}
		data[f.Path] = b
		sm := ""
		if f.SM3 != "" {
			sm = " and sm3"
		}
		ck.ok(f.Path, "%d bytes, sha256%s as the manifest says", f.Size, sm)
	}
	for name := range entries {
		if !listed[name] {
			ck.bad(name, "in the zip but not listed in the manifest")
		}
	}
	return data
}

// rebuild makes the bundle to check from the manifest and the files that
// matched it.
func rebuild(ck *checker, m *Manifest, data map[string][]byte) *bundle {
	b := &bundle{summary: m.Summary}
	for _, f := range m.Files {
		d, ok := data[f.Path]
		if !ok || !itemKinds[f.Kind] || reserved(f.Path) {
			continue
		}
		it := Item{Path: f.Path, Kind: f.Kind, Data: d, Columns: f.Columns, Note: f.Note, NoteZH: f.NoteZH}
		if f.Binding != nil {
			it.Leaf, it.Field, it.Row, it.Column = f.Binding.Leaf, f.Binding.Field, f.Binding.Row, f.Binding.Column
		}
		b.items = append(b.items, it)
	}
	cp, ok := data[PathCheckpoint]
	if !ok {
		ck.bad(PathCheckpoint, "no checkpoint to check the log against")
		return nil
	}
	b.checkpoint = cp
	if lj, ok := data[PathLeaves]; ok {
		b.leaves, b.leavesTree = readLeaves(ck, lj)
	} else {
		ck.bad(PathLeaves, "no leaves: the items cannot be bound to the log")
	}
	for i, s := range m.Stamps {
		tok, ok := data[s.Token]
		if !ok || !strings.HasPrefix(s.Token, pathStamps) {
			ck.bad(s.Token, "time-stamp %d: no such file in the bundle", i)
			continue
		}
		st := checkpoint.StoredStamp{URL: s.URL, Token: tok}
		if s.Certs != "" {
			pb, ok := data[s.Certs]
			if !ok {
				ck.bad(s.Certs, "time-stamp %d: its certificates are not in the bundle", i)
				continue
			}
			st.Certs = checkpoint.PEMCerts(string(pb))
			if !pemOnly(pb, len(st.Certs)) {
				ck.bad(s.Certs, "not a PEM list of certificates")
				continue
			}
		}
		b.stamps = append(b.stamps, st)
		b.stampPaths = append(b.stampPaths, s.Token)
	}
	return b
}

// pemOnly reports whether b is n PEM certificate blocks and nothing else.
func pemOnly(b []byte, n int) bool {
	rest, count := b, 0
	for {
		var p *pem.Block
		p, rest = pem.Decode(rest)
		if p == nil {
			return len(bytes.TrimSpace(rest)) == 0 && count == n
		}
		count++
	}
}

func readLeaves(ck *checker, lj []byte) ([]Leaf, *leavesFile) {
	var lf leavesFile
	dec := json.NewDecoder(bytes.NewReader(lj))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lf); err != nil {
		ck.bad(PathLeaves, "not a leaves file: %v", err)
		return nil, nil
	}
	var out []Leaf
	for _, e := range lf.Leaves {
		l := Leaf{Index: e.Index, Bytes: []byte(e.Leaf)}
		for _, s := range e.Proof {
			h, err := parseHash(s)
			if err != nil {
				ck.bad(PathLeaves, "leaf %d: proof hash %v", e.Index, err)
				l.Proof = nil
				break
			}
			l.Proof = append(l.Proof, h)
		}
		if e.Hash != b64(tlog.RecordHash(l.Bytes)) {
			ck.bad(PathLeaves, "leaf %d: its hash %s is not the record hash of its bytes", e.Index, e.Hash)
		}
		out = append(out, l)
	}
	return out, &lf
}

// tree checks that the manifest and the leaves file name the checkpoint's
// tree.
func (c *checker) tree(m *Manifest, b *bundle, keys []string) {
	v, err := checkpoint.NewVerifier(originOfNote(b.checkpoint), keys...)
	if err != nil {
		return
	}
	got, err := v.Open(b.checkpoint)
	if err != nil {
		return
	}
	root := b64(got.Tree.Hash)
	if m.Origin != got.Origin || m.TreeSize != got.Tree.N || m.TreeRoot != root {
		c.bad(PathManifest, "names the tree %s %d %s, the checkpoint %s %d %s", m.Origin, m.TreeSize, m.TreeRoot,
			got.Origin, got.Tree.N, root)
	}
	if lf := b.leavesTree; lf != nil && (lf.Origin != got.Origin || lf.TreeSize != got.Tree.N || lf.TreeRoot != root) {
		c.bad(PathLeaves, "names the tree %s %d %s, the checkpoint %s %d %s", lf.Origin, lf.TreeSize, lf.TreeRoot,
			got.Origin, got.Tree.N, root)
	}
}
