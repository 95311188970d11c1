package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/qyshook/qyshook/receiptlog"
)

// ErrInconsistent: Write refused contents that would not verify; the
// message names each item at fault.
var ErrInconsistent = errors.New("evidence: inconsistent contents")

// Write writes the bundle of c as a zip to w, with manifest.sig signed by
// signer (the log's checkpoint key: Keyring.Signer). It first checks c as
// Verify would — every path safe and unique, every leaf canonical and
// proven in the checkpoint's tree (signed by c.VerifierKey), every item's
// hash equal to its bound leaf's or column's, every stamp over the
// checkpoint, every evidence item bound, the identity of c's tenant,
// contract and state with the contract row bound to the newest contract
// leaf, every PDF valid (or without signatures, or invalid recorded as a
// document_invalid discrepancy), every verification material re-shown —
// and writes nothing when any fails: the
// error wraps ErrInconsistent and names the items.
func Write(w io.Writer, c Contents, signer note.Signer) error {
	if signer == nil {
		return errors.New("evidence: no signer")
	}
	b, err := prepare(c)
	if err != nil {
		return err
	}
	var ck checker
	ck.contents(context.Background(), b, checkOptions{keys: []string{c.VerifierKey}})
	var errs []error
	for _, l := range ck.lines {
		if !l.OK {
			errs = append(errs, fmt.Errorf("%s: %s", l.Item, l.What))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInconsistent, errors.Join(errs...))
	}
	files, m, err := layout(c, b)
	if err != nil {
		return err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence: manifest: %w", err)
	}
	mj = append(mj, '\n')
	sig, err := note.Sign(&note.Note{Text: sigText(mj)}, signer)
	if err != nil {
		return fmt.Errorf("evidence: sign the manifest: %w", err)
	}
	if err := checkSig(sig, mj, c.VerifierKey); err != nil {
		return fmt.Errorf("%w: manifest.sig: the signer is not the log's verifier key %q: %v", ErrInconsistent, c.VerifierKey, err)
	}
	return writeZip(w, c.BuiltAt, append([]zipFile{{PathManifest, mj}, {PathManifestSig, sig}}, files...))
}

// prepare checks what the content checks do not (identity, paths, kinds)
// and returns the bundle to check.
func prepare(c Contents) (*bundle, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Tenant == "" || c.ContractID == "" {
		bad("no tenant or contract id")
	}
	if c.Version < 1 {
		bad("version %d: versions count from 1", c.Version)
	}
	if c.BuiltAt.IsZero() {
		bad("no build time")
	}
	if len(c.Checkpoint) == 0 {
		bad("%s: no checkpoint", PathCheckpoint)
	}
	if _, err := note.NewVerifier(strings.TrimSpace(c.VerifierKey)); err != nil {
		bad("%s: verifier key %q: %v", PathVerifierKey, c.VerifierKey, err)
	}
	seen, folded := map[string]bool{}, map[string]string{}
	for i, it := range c.Items {
		name := it.Path
		if name == "" {
			name = fmt.Sprintf("item %d", i)
		}
		if err := checkPath(it.Path); err != nil {
			bad("%s: %v", name, err)
			continue
		}
		switch {
		case reserved(strings.ToLower(it.Path)):
			bad("%s: a path the bundle itself uses (manifest.json, manifest.sig, report.html, log/…, in any case)", name)
		case seen[it.Path]:
			bad("%s: two items with this path", name)
		case folded[strings.ToLower(it.Path)] != "":
			bad("%s: differs from %s only by case", name, folded[strings.ToLower(it.Path)])
		case !itemKinds[it.Kind]:
			bad("%s: unknown kind %q", name, it.Kind)
		case it.Row != "" && it.Column == "", it.Row == "" && it.Column != "":
			bad("%s: a row binding needs both Row and Column", name)
		case it.Leaf == nil && it.Field != "":
			bad("%s: Field %q without a Leaf", name, it.Field)
		case strings.ContainsAny(it.Note+it.NoteZH, "\n\r"):
			bad("%s: a note is one line", name)
		}
		seen[it.Path] = true
		if folded[strings.ToLower(it.Path)] == "" {
			folded[strings.ToLower(it.Path)] = it.Path
		}
	}
	for i, s := range c.Stamps {
		if len(s.Token) == 0 {
			bad("%s%d.tsr: empty token", pathStamps, i)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInconsistent, errors.Join(errs...))
	}
	b := &bundle{items: c.Items, leaves: c.Leaves, checkpoint: c.Checkpoint, stamps: c.Stamps, summary: c.Summary,
		tenant: c.Tenant, contractID: c.ContractID, state: c.State}
	for i := range c.Stamps {
		b.stampPaths = append(b.stampPaths, fmt.Sprintf("%s%d.tsr", pathStamps, i))
	}
	return b, nil
}

type zipFile struct {
	path string
	data []byte
}

// layout returns every file but the manifest and its signature, and the
// manifest listing them.
func layout(c Contents, b *bundle) ([]zipFile, *Manifest, error) {
	var ck checker
	tree, _ := ck.checkpointNote(c.Checkpoint, checkOptions{keys: []string{c.VerifierKey}})
	m := &Manifest{Format: Format, Tenant: c.Tenant, ContractID: c.ContractID, Version: c.Version, State: c.State,
		BuiltAt: c.BuiltAt.UTC(), Origin: originOf([]string{c.VerifierKey}), TreeSize: tree.N, TreeRoot: b64(tree.Hash),
		Stamps: []ManifestStamp{}, Summary: c.Summary}
	var files []zipFile
	add := func(f File, data []byte) {
		f.Size, f.SHA256, f.SM3 = int64(len(data)), sha256Hex(data), sm3Hex(data)
		m.Files = append(m.Files, f)
		files = append(files, zipFile{f.Path, data})
	}
	for _, it := range c.Items {
		f := File{Path: it.Path, Kind: it.Kind, Columns: it.Columns, Note: it.Note, NoteZH: it.NoteZH}
		if it.Leaf != nil {
			idx := *it.Leaf
			f.Binding = &Binding{Leaf: &idx, Field: it.Field}
		} else if it.Row != "" {
			f.Binding = &Binding{Row: it.Row, Column: it.Column}
		}
		add(f, it.Data)
	}
	lf := leavesFile{Origin: m.Origin, TreeSize: tree.N, TreeRoot: m.TreeRoot, Leaves: []leafEntry{}}
	for _, l := range c.Leaves {
		e := leafEntry{Index: l.Index, Leaf: string(l.Bytes), Hash: b64(receiptlog.Hash(l.Bytes)), Proof: []string{}}
		for _, h := range l.Proof {
			e.Proof = append(e.Proof, b64(h))
		}
		lf.Leaves = append(lf.Leaves, e)
	}
	lj, err := marshal(lf)
	if err != nil {
		return nil, nil, err
	}
	add(File{Path: PathLeaves, Kind: KindLeaves, Note: "the receipt-log leaves the items bind to, with their inclusion proofs",
		NoteZH: "证据项所绑定的回执日志叶子及其包含证明"}, lj)
	add(File{Path: PathCheckpoint, Kind: KindCheckpoint, Note: "the signed checkpoint of the receipt log the proofs are in",
		NoteZH: "回执日志的签名检查点"}, c.Checkpoint)
	for i, s := range c.Stamps {
		tok := fmt.Sprintf("%s%d.tsr", pathStamps, i)
		add(File{Path: tok, Kind: KindStamp, Note: "RFC 3161 time-stamp token over log/checkpoint.txt from " + s.URL,
			NoteZH: "对检查点的 RFC 3161 时间戳"}, s.Token)
		ms := ManifestStamp{URL: s.URL, Token: tok}
		if len(s.Certs) > 0 {
			var pb bytes.Buffer
			for _, der := range s.Certs {
				if err := pem.Encode(&pb, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
					return nil, nil, fmt.Errorf("evidence: stamp %d certificates: %w", i, err)
				}
			}
			ms.Certs = fmt.Sprintf("%s%d.pem", pathStamps, i)
			add(File{Path: ms.Certs, Kind: KindStampCerts, Note: "the certificates of time-stamp " + tok,
				NoteZH: "时间戳证书"}, pb.Bytes())
		}
		m.Stamps = append(m.Stamps, ms)
	}
	add(File{Path: PathVerifierKey, Kind: KindVerifierKey, Note: "the log's note verifier key (pin your own copy)",
		NoteZH: "日志的验证公钥（请使用自己保存的副本）"}, []byte(strings.TrimSpace(c.VerifierKey)+"\n"))
	report, err := RenderReport(c, nil)
	if err != nil {
		return nil, nil, err
	}
	add(File{Path: PathReport, Kind: KindReport, Note: "the report (中文/English)", NoteZH: "报告"}, report)
	return files, m, nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return b.Bytes(), nil
}

// checkSig opens manifest.sig with the keys and compares its text with
// the manifest's hash. It returns the opened note.
func checkSig(sig, manifest []byte, keys ...string) error {
	var vs []note.Verifier
	for _, k := range keys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return fmt.Errorf("verifier key %q: %v", k, err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(sig, note.VerifierList(vs...))
	if err != nil {
		return err
	}
	if n.Text != sigText(manifest) {
		return errors.New("it signs another manifest")
	}
	return nil
}

func writeZip(w io.Writer, at time.Time, files []zipFile) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.path, Method: zip.Deflate, Modified: at.UTC()})
		if err != nil {
			return fmt.Errorf("evidence: zip %s: %w", f.path, err)
		}
		if _, err := fw.Write(f.data); err != nil {
			return fmt.Errorf("evidence: zip %s: %w", f.path, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("evidence: zip: %w", err)
	}
	return nil
}
