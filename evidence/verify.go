package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emmansun/gmsm/sm3"
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
	// MaxTotalBytes caps the uncompressed bytes of all the files the
	// manifest lists (0: 4 GiB); MaxFileBytes caps each (0: 2 GiB). A
	// manifest listing more is a problem and no file is read.
	MaxTotalBytes, MaxFileBytes int64
}

// Result is what Verify found: one Line per check, and how many failed.
type Result struct {
	Lines    []Line `json:"lines"`
	Problems int    `json:"problems"`
	// Pinned says which of the keys and roots the bundle needs the caller
	// pinned. With Problems 0 and Pinned.Missing not empty, the bundle is
	// consistent but not shown to come from your log: anyone can make such
	// a bundle with a key of their own.
	Pinned Pinned `json:"pinned"`
	// RecordedInvalid are the PDFs that do not verify, each recorded as
	// such when archived (an invalid verdict and a document_invalid
	// discrepancy): the bundle faithfully keeps a bad download. Their
	// lines say "recorded discrepancy" and are not problems.
	RecordedInvalid []string `json:"recorded_invalid,omitempty"`
	Manifest        Manifest `json:"manifest"`
}

// Pinned says what the caller pinned.
type Pinned struct {
	LogKey   bool `json:"log_key"`
	TSARoots bool `json:"tsa_roots"`
	PDFRoots bool `json:"pdf_roots"`
	// Missing names what the bundle needs and was not pinned: "log key"
	// always, "TSA roots" when it has time-stamps, "PDF roots" when it has
	// PDFs.
	Missing []string `json:"missing,omitempty"`
}

// Limits of what Verify reads.
const (
	maxManifest = 16 << 20
	maxSig      = 64 << 10
	// defaultMaxFile and defaultMaxTotal are VerifyOptions' defaults.
	defaultMaxFile  = 2 << 30
	defaultMaxTotal = 4 << 30
)

// limits are the caps readFiles applies.
type limits struct {
	file, total int64
	// keep says which files' bytes to keep (after their hashes passed);
	// nil: all.
	keep func(File) bool
}

func (o VerifyOptions) limits() limits {
	l := limits{file: o.MaxFileBytes, total: o.MaxTotalBytes, keep: needsBytes}
	if l.file <= 0 {
		l.file = defaultMaxFile
	}
	if l.total <= 0 {
		l.total = defaultMaxTotal
	}
	return l
}

// needsBytes reports whether the checks after the hashes read a file's
// bytes: rows (parsed), PDFs and validation material (verified), the log
// files. The others are checked by their hashes alone.
func needsBytes(f File) bool {
	switch f.Kind {
	case KindRow, KindDocument, KindValidation:
		return true
	}
	return reserved(f.Path)
}

// ErrNotBundle: the bytes are not a zip at all (a bundle with wrong
// content is a Result with problems, not an error).
var ErrNotBundle = errors.New("evidence: not a zip bundle")

// Verify checks the bundle of size bytes at r with no network and no data
// dir: manifest.json (at most 16 MiB) and manifest.sig against the pinned
// verifier keys (or the bundle's own key) first; the zip holds only
// manifest-listed files, no directory entry and no two names differing
// only by case; each file's size, SHA-256 and SM3, streamed, within
// o.MaxTotalBytes and o.MaxFileBytes; each file of a known kind, each
// evidence item bound; the checkpoint's signature; each leaf's form and
// inclusion proof; each item's binding; the identity (tenant, contract,
// state) of the manifest, the contract row and the leaves; each time-stamp
// over the checkpoint; each PDF offline (pdfverify: the verdict is this
// check's, the summary must agree) and each verification material
// (ValidationData.Reshow). Result.Pinned says what was not pinned. It
// returns an error only when r is not a zip or cannot be read.
func Verify(ctx context.Context, r io.ReaderAt, size int64, o VerifyOptions) (*Result, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	var ck checker
	entries := zipEntries(&ck, zr)
	res := &Result{}
	mj, m := readManifest(&ck, entries)
	keys, pinned := o.VerifierKeys, len(o.VerifierKeys) > 0
	if !pinned {
		keys = ownKey(entries)
	}
	// The manifest's signature first: it is small and capped; the files
	// it lists are then read one at a time, streaming their hashes.
	if mj != nil {
		readSig(&ck, entries, mj, keys, pinned)
	}
	if m != nil {
		res.Manifest = *m
		data, sums := readFiles(ctx, &ck, entries, m, o.limits())
		if b := rebuild(&ck, m, data, sums); b != nil {
			ck.contents(ctx, b, checkOptions{keys: keys, pinned: pinned, tsaRoots: o.TSARoots, pdfRoots: o.PDFRoots})
			ck.tree(m, b, keys)
		}
		res.Pinned = pinnedOf(m, o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Lines = ck.lines
	res.RecordedInvalid = ck.recorded
	for _, l := range ck.lines {
		if !l.OK {
			res.Problems++
		}
	}
	return res, nil
}

// pinnedOf says what o pinned of what the bundle of m needs.
func pinnedOf(m *Manifest, o VerifyOptions) Pinned {
	p := Pinned{LogKey: len(o.VerifierKeys) > 0, TSARoots: o.TSARoots != nil, PDFRoots: o.PDFRoots != nil}
	if !p.LogKey {
		p.Missing = append(p.Missing, "log key")
	}
	if !p.TSARoots && len(m.Stamps) > 0 {
		p.Missing = append(p.Missing, "TSA roots")
	}
	pdfs := false
	for _, f := range m.Files {
		pdfs = pdfs || f.Kind == KindDocument
	}
	if !p.PDFRoots && pdfs {
		p.Missing = append(p.Missing, "PDF roots")
	}
	return p
}

// zipEntries indexes the zip's entries by name. A directory entry, an
// unsafe name, a name twice or two names that differ only by case are
// problems (they confuse extraction by hand) and are left out.
func zipEntries(ck *checker, zr *zip.Reader) map[string]*zip.File {
	entries := map[string]*zip.File{}
	folded := map[string]string{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			ck.bad(entryName(f.Name), "a directory entry: a bundle holds files only")
			continue
		}
		if err := checkPath(f.Name); err != nil {
			ck.bad(entryName(f.Name), "unsafe name in the zip: %v", err)
			continue
		}
		if entries[f.Name] != nil {
			ck.bad(f.Name, "the zip holds two files of this name")
			continue
		}
		low := strings.ToLower(f.Name)
		if other, ok := folded[low]; ok {
			ck.bad(f.Name, "differs from %s only by case", other)
			continue
		}
		folded[low] = f.Name
		entries[f.Name] = f
	}
	return entries
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

// readFiles checks every file against the manifest, streaming its
// hashes, and returns the bytes of those the later checks read (all when
// lim.keep is nil) and the SHA-256 of each file that matched. The sizes
// the manifest lists must fit the caps, or nothing is read.
func readFiles(ctx context.Context, ck *checker, entries map[string]*zip.File, m *Manifest, lim limits) (map[string][]byte, map[string]string) {
	data, sums := map[string][]byte{}, map[string]string{}
	listed := map[string]bool{PathManifest: true, PathManifestSig: true}
	folded := map[string]string{}
	var total int64
	for _, f := range m.Files {
		if f.Size > 0 && f.Size <= lim.file {
			total += f.Size
		}
	}
	if total > lim.total {
		ck.bad(PathManifest, "lists %d bytes of files, more than the %d bytes this check reads (a zip bomb?): no file was read",
			total, lim.total)
		return data, sums
	}
	for _, f := range m.Files {
		if ctx.Err() != nil {
			return data, sums
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
		low := strings.ToLower(f.Path)
		if other, ok := folded[low]; ok || (reserved(low) && !reserved(f.Path)) || low == PathManifest || low == PathManifestSig {
			if !ok {
				other = "a path of the bundle itself"
			}
			ck.bad(f.Path, "differs from %s only by case", other)
			continue
		}
		folded[low] = f.Path
		e := entries[f.Path]
		if e == nil {
			ck.bad(f.Path, "listed in the manifest, missing from the zip")
			continue
		}
		if f.Size < 0 || f.Size > lim.file {
			ck.bad(f.Path, "size %d out of range: more than the %d bytes this check reads of a file", f.Size, lim.file)
			continue
		}
		if e.UncompressedSize64 != uint64(f.Size) {
			ck.bad(f.Path, "the zip says %d bytes, the manifest %d", e.UncompressedSize64, f.Size)
			continue
		}
		n, sh, sm, err := hashEntry(e, f.Size)
		switch {
		case err != nil:
			ck.bad(f.Path, "cannot read: %v (the manifest says %d bytes)", err, f.Size)
			continue
		case n > f.Size:
			ck.bad(f.Path, "holds more than the %d bytes the manifest and the zip say", f.Size)
			continue
		case n != f.Size:
			ck.bad(f.Path, "%d bytes, the manifest says %d", n, f.Size)
			continue
		case sh != f.SHA256:
			ck.bad(f.Path, "sha256 %s, the manifest says %s", sh, f.SHA256)
			continue
		case f.SM3 != "" && sm != f.SM3:
			ck.bad(f.Path, "sm3 %s, the manifest says %s", sm, f.SM3)
			continue
		}
		if lim.keep == nil || lim.keep(f) {
			// Read only now that its hash passed, under the caps.
			b, err := readEntry(e, f.Size)
			if err != nil || sha256Hex(b) != f.SHA256 {
				ck.bad(f.Path, "changed while read: %v", err)
				continue
			}
			data[f.Path] = b
		}
		sums[f.Path] = sh
		sm3Word := ""
		if f.SM3 != "" {
			sm3Word = " and sm3"
		}
		ck.ok(f.Path, "%d bytes, sha256%s as the manifest says", f.Size, sm3Word)
	}
	for name := range entries {
		if !listed[name] {
			ck.bad(name, "in the zip but not listed in the manifest")
		}
	}
	return data, sums
}

// hashEntry streams a zip entry's SHA-256 and SM3, reading at most
// size+1 bytes (n > size: the entry holds more than it says).
func hashEntry(f *zip.File, size int64) (n int64, sha, sm string, err error) {
	rc, err := f.Open()
	if err != nil {
		return 0, "", "", err
	}
	defer rc.Close()
	h, s := sha256.New(), sm3.New()
	n, err = io.Copy(io.MultiWriter(h, s), io.LimitReader(rc, size+1))
	if err != nil && n <= size {
		return n, "", "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(s.Sum(nil)), nil
}

// fixedKind is the kind of a file the bundle itself holds (log/…,
// report.html), "" for a path that is none of them.
func fixedKind(m *Manifest, p string) string {
	switch p {
	case PathLeaves:
		return KindLeaves
	case PathCheckpoint:
		return KindCheckpoint
	case PathVerifierKey:
		return KindVerifierKey
	case PathReport:
		return KindReport
	}
	for _, s := range m.Stamps {
		switch p {
		case s.Token:
			return KindStamp
		case s.Certs:
			return KindStampCerts
		}
	}
	return ""
}

// rebuild makes the bundle to check from the manifest and the files that
// matched it. Every listed file is either a fixed file of the bundle
// (log/…, report.html) of its kind, or an item of a known kind; anything
// else is a problem.
func rebuild(ck *checker, m *Manifest, data map[string][]byte, sums map[string]string) *bundle {
	b := &bundle{summary: m.Summary, tenant: m.Tenant, contractID: m.ContractID, state: m.State}
	for _, f := range m.Files {
		if reserved(f.Path) {
			switch want := fixedKind(m, f.Path); {
			case want == "":
				ck.bad(f.Path, "not a file of a bundle: under log/ are only the leaves, the checkpoint, the verifier key and the time-stamps the manifest names")
			case f.Kind != want:
				ck.bad(f.Path, "kind %q, this file of the bundle is %q", f.Kind, want)
			case f.Binding != nil:
				ck.bad(f.Path, "a file of the bundle itself with a binding (%s)", f.Binding)
			}
			continue
		}
		if !itemKinds[f.Kind] {
			ck.bad(f.Path, "unknown kind %q", f.Kind)
			continue
		}
		sum, ok := sums[f.Path]
		if !ok {
			continue // its hash line says why
		}
		it := Item{Path: f.Path, Kind: f.Kind, Data: data[f.Path], Columns: f.Columns, Note: f.Note, NoteZH: f.NoteZH, sum: sum}
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
