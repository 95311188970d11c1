package evidence

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/tsa"
)

// Line is one check of a bundle.
type Line struct {
	// Item is the path of the file the check is about.
	Item string `json:"item"`
	OK   bool   `json:"ok"`
	What string `json:"what"`
	// Discrepancy marks a line that holds only as a recorded discrepancy:
	// a PDF that does not verify, recorded so when archived.
	Discrepancy bool `json:"recorded_discrepancy,omitempty"`
}

// bundle is what the content checks look at: the Contents Write was given,
// or what Verify read back from a zip.
type bundle struct {
	items      []Item
	leaves     []Leaf
	checkpoint []byte
	stamps     []checkpoint.StoredStamp
	stampPaths []string // the token path of each stamp
	summary    Summary
	// leavesTree is log/leaves.json's header (Verify only).
	leavesTree *leavesFile
	// tenant, contractID and state are the bundle's identity (the
	// manifest's, or the Contents').
	tenant, contractID, state string
}

// checker runs the content checks and collects lines.
type checker struct {
	lines []Line
	// recorded are the PDFs that do not verify, as recorded when archived.
	recorded []string
}

func (c *checker) ok(item, format string, args ...any) {
	c.lines = append(c.lines, Line{Item: item, OK: true, What: fmt.Sprintf(format, args...)})
}

func (c *checker) bad(item, format string, args ...any) {
	c.lines = append(c.lines, Line{Item: item, What: fmt.Sprintf(format, args...)})
}

// checkOptions say what the content checks trust.
type checkOptions struct {
	// keys are the verifier keys the checkpoint must be signed by; pinned
	// says whether the caller gave them (or they came with the bundle).
	keys     []string
	pinned   bool
	tsaRoots *x509.CertPool
	pdfRoots *x509.CertPool
}

// origin is the name of the first verifier key, "" when none parses.
func originOf(keys []string) string {
	for _, k := range keys {
		if v, err := note.NewVerifier(strings.TrimSpace(k)); err == nil {
			return v.Name()
		}
	}
	return ""
}

// originOfNote is the first line of a checkpoint note: the log's origin
// (the keys of other logs then simply do not open it).
func originOfNote(msg []byte) string {
	line, _, _ := bytes.Cut(msg, []byte("\n"))
	return string(line)
}

func pinnedWord(pinned bool) string {
	if pinned {
		return "pinned"
	}
	return "not pinned: the bundle's own key or root"
}

// contents checks b: the checkpoint's signature, every leaf's form and
// inclusion, every item's binding, every stamp, every PDF and every
// verification material.
func (c *checker) contents(ctx context.Context, b *bundle, o checkOptions) {
	tree, treeOK := c.checkpointNote(b.checkpoint, o)
	leaves := c.leaves(b.leaves, tree, treeOK)
	rows := map[string]*Item{}
	for i := range b.items {
		if b.items[i].Kind == KindRow {
			rows[b.items[i].Path] = &b.items[i]
		}
	}
	for i := range b.items {
		c.binding(&b.items[i], leaves, rows)
	}
	c.identity(b, leaves)
	c.stamps(b, o)
	c.documents(ctx, b, o)
}

// checkpointNote opens the checkpoint with the keys and returns its tree.
func (c *checker) checkpointNote(msg []byte, o checkOptions) (tlog.Tree, bool) {
	v, err := checkpoint.NewVerifier(originOfNote(msg), o.keys...)
	if err != nil {
		c.bad(PathCheckpoint, "no usable verifier key: %v", err)
		return tlog.Tree{}, false
	}
	cp, err := v.Open(msg)
	if err != nil {
		c.bad(PathCheckpoint, "the checkpoint does not verify: %v", err)
		return tlog.Tree{}, false
	}
	c.ok(PathCheckpoint, "checkpoint of %s, size %d, root %s, signed by key %s (%s)", cp.Origin, cp.Tree.N,
		b64(cp.Tree.Hash), strings.Join(cp.KeyIDs, ","), pinnedWord(o.pinned))
	return cp.Tree, true
}

// leaves checks each leaf and returns the good ones by index.
func (c *checker) leaves(ls []Leaf, tree tlog.Tree, treeOK bool) map[int64]receiptlog.Leaf {
	good := map[int64]receiptlog.Leaf{}
	seen := map[int64]bool{}
	for _, l := range ls {
		if seen[l.Index] {
			c.bad(PathLeaves, "leaf %d is listed twice", l.Index)
			continue
		}
		seen[l.Index] = true
		pl, err := receiptlog.Parse(l.Bytes)
		if err != nil {
			c.bad(PathLeaves, "leaf %d: %v", l.Index, err)
			continue
		}
		if !treeOK {
			c.bad(PathLeaves, "leaf %d (%s %s): no checkpoint to prove it against", l.Index, pl.Kind, pl.Ref)
			continue
		}
		if err := receiptlog.CheckInclusion(l.Proof, tree, l.Index, l.Bytes); err != nil {
			c.bad(PathLeaves, "leaf %d (%s %s): %v", l.Index, pl.Kind, pl.Ref, err)
			continue
		}
		good[l.Index] = pl
		c.ok(PathLeaves, "leaf %d (%s %s) is in the checkpoint's tree of %d", l.Index, pl.Kind, pl.Ref, tree.N)
	}
	return good
}

// rowContent is a row item's Data.
type rowContent struct {
	Row         []json.RawMessage `json:"row"`
	Signatories json.RawMessage   `json:"signatories,omitempty"`
}

func parseRow(it *Item) (*rowContent, error) {
	var rc rowContent
	dec := json.NewDecoder(bytes.NewReader(it.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		return nil, fmt.Errorf("not row content: %v", err)
	}
	if dec.More() || rc.Row == nil {
		return nil, errors.New(`not row content: want one object {"row":[…]}`)
	}
	if len(it.Columns) > 0 && len(it.Columns) != len(rc.Row) {
		return nil, fmt.Errorf("%d columns named for a row of %d values", len(it.Columns), len(rc.Row))
	}
	return &rc, nil
}

// binding checks that the item's hash is what its leaf or row says.
func (c *checker) binding(it *Item, leaves map[int64]receiptlog.Leaf, rows map[string]*Item) {
	sum := it.sum
	if sum == "" {
		sum = sha256Hex(it.Data)
	}
	if it.Kind == KindRow {
		if _, err := parseRow(it); err != nil {
			c.bad(it.Path, "%v", err)
			return
		}
	}
	switch {
	case it.Leaf != nil && it.Row != "":
		c.bad(it.Path, "bound both to leaf %d and to row %s", *it.Leaf, it.Row)
	case it.Leaf != nil:
		l, ok := leaves[*it.Leaf]
		if !ok {
			c.bad(it.Path, "bound to leaf %d, which is not a proven leaf of the bundle", *it.Leaf)
			return
		}
		var want string
		switch it.Field {
		case FieldSHA256:
			want = l.SHA256
		case FieldBodySHA256:
			want = l.BodySHA256
		default:
			c.bad(it.Path, "bound to field %q of leaf %d: want sha256 or body_sha256", it.Field, *it.Leaf)
			return
		}
		if want != sum {
			c.bad(it.Path, "sha256 %s is not the %s of leaf %d (%s %s): %q", sum, it.Field, *it.Leaf, l.Kind, l.Ref, want)
			return
		}
		c.ok(it.Path, "its sha256 is the %s of leaf %d (%s %s)", it.Field, *it.Leaf, l.Kind, l.Ref)
	case it.Row != "":
		row, ok := rows[it.Row]
		if !ok {
			c.bad(it.Path, "bound to row %s, which is not a row item of the bundle", it.Row)
			return
		}
		rc, err := parseRow(row)
		if err != nil {
			c.bad(it.Path, "bound to row %s: %v", it.Row, err)
			return
		}
		col := -1
		for i, name := range row.Columns {
			if name == it.Column {
				col = i
			}
		}
		if col < 0 {
			c.bad(it.Path, "bound to column %q, which row %s does not name", it.Column, it.Row)
			return
		}
		var v string
		if err := json.Unmarshal(rc.Row[col], &v); err != nil || v != sum {
			c.bad(it.Path, "sha256 %s is not column %s of row %s (%s)", sum, it.Column, it.Row, rc.Row[col])
			return
		}
		c.ok(it.Path, "its sha256 is column %s of row %s", it.Column, it.Row)
	case mustBind[it.Kind]:
		c.bad(it.Path, "a %s item not bound to the log: evidence of this kind must carry its leaf's or row's hash", it.Kind)
	default:
		c.ok(it.Path, "a %s item not bound to the log: only manifest.sig vouches for it", it.Kind)
	}
}

// mustBind are the kinds that carry evidence: each item of these kinds
// must be bound to a leaf or a row column.
var mustBind = map[string]bool{KindRow: true, KindCallback: true, KindAPIAnswer: true, KindFact: true, KindDocument: true,
	KindValidation: true, KindOplog: true, KindAttachment: true, KindNotary: true, KindEndsign: true, KindSignlog: true,
	KindRefusal: true}

// identity checks that the bundle is one contract's: every proven leaf
// with a tenant is of the bundle's tenant, every contract leaf of its
// contract, every row's tenant and contract_id columns (where it has them)
// the bundle's; the contract row is bound to the newest contract leaf
// among the bundle's leaves, and its tenant, id and status are the
// bundle's tenant, contract id and state.
func (c *checker) identity(b *bundle, leaves map[int64]receiptlog.Leaf) {
	idx := slices.Sorted(maps.Keys(leaves))
	latest := int64(-1)
	for _, i := range idx {
		l := leaves[i]
		if l.Tenant != "" && l.Tenant != b.tenant {
			c.bad(PathLeaves, "leaf %d (%s %s) is of tenant %q, the bundle of tenant %q", i, l.Kind, l.Ref, l.Tenant, b.tenant)
		}
		if l.Kind == receiptlog.KindContract {
			if l.Ref != b.contractID {
				c.bad(PathLeaves, "leaf %d is of contract %q, the bundle of contract %q", i, l.Ref, b.contractID)
				continue
			}
			latest = i
		}
	}
	// The leaves a row item is bound to: a payload bound to the body of a
	// leaf other than a contract's needs that row beside it, which shows
	// its contract (the leaf itself names only its own ref).
	rowLeaves := map[int64]bool{}
	for _, it := range b.items {
		if it.Kind == KindRow && it.Leaf != nil && it.Field == FieldSHA256 {
			rowLeaves[*it.Leaf] = true
		}
	}
	var contractRows []*Item
	for k := range b.items {
		it := &b.items[k]
		if it.Leaf != nil {
			l, ok := leaves[*it.Leaf]
			if !ok {
				continue // its binding line says so
			}
			if l.Tenant != "" && l.Tenant != b.tenant {
				c.bad(it.Path, "bound to leaf %d of tenant %q, the bundle is of tenant %q", *it.Leaf, l.Tenant, b.tenant)
			}
			if l.Kind == receiptlog.KindContract && l.Ref != b.contractID {
				c.bad(it.Path, "bound to leaf %d of contract %q, the bundle is of contract %q", *it.Leaf, l.Ref, b.contractID)
			}
			if it.Kind == KindRow && it.Field == FieldSHA256 && l.Kind == receiptlog.KindContract {
				contractRows = append(contractRows, it)
			}
			if it.Field == FieldBodySHA256 && l.Kind != receiptlog.KindContract && !rowLeaves[*it.Leaf] {
				c.bad(it.Path, "bound to the body of leaf %d (%s %s), but the bundle holds no row of that leaf: nothing shows it is of contract %q",
					*it.Leaf, l.Kind, l.Ref, b.contractID)
			}
			if it.Kind == KindRow && (l.Kind == receiptlog.KindEvent || l.Kind == receiptlog.KindFact || l.Kind == receiptlog.KindDocument) {
				if rc, err := parseRow(it); err == nil {
					if _, ok := column(it, rc, "contract_id"); !ok {
						c.bad(it.Path, "a %s row that names no contract_id column: nothing shows it is of contract %q", l.Kind, b.contractID)
					}
				}
			}
		}
		if it.Kind != KindRow {
			continue
		}
		rc, err := parseRow(it)
		if err != nil {
			continue // its binding line says so
		}
		if v, ok := column(it, rc, "tenant"); ok && v != b.tenant {
			c.bad(it.Path, "a row of tenant %q, the bundle is of tenant %q", v, b.tenant)
		}
		if v, ok := column(it, rc, "contract_id"); ok && v != b.contractID {
			c.bad(it.Path, "a row of contract %q, the bundle is of contract %q: an item of another contract", v, b.contractID)
		}
	}
	name := PathManifest
	if latest < 0 {
		c.bad(name, "no proven leaf of contract %q among the bundle's leaves: its contract and state are not shown", b.contractID)
		return
	}
	var row *Item
	for _, it := range contractRows {
		if *it.Leaf == latest {
			row = it
			continue
		}
		c.bad(it.Path, "the contract row is bound to leaf %d, but leaf %d of the contract is newer: the bundle's state is not its latest",
			*it.Leaf, latest)
	}
	if row == nil {
		c.bad(name, "no contract row is bound to leaf %d, the contract's newest leaf in the bundle", latest)
		return
	}
	rc, err := parseRow(row)
	if err != nil {
		return
	}
	tenant, okTenant := column(row, rc, "tenant")
	id, okID := column(row, rc, "id")
	status, okStatus := column(row, rc, "status")
	switch {
	case !okTenant || !okID || !okStatus:
		c.bad(row.Path, "the contract row names no tenant, id or status column")
	case tenant != b.tenant:
		c.bad(name, "names tenant %q, its contract row (%s) is of tenant %q", b.tenant, row.Path, tenant)
	case id != b.contractID:
		c.bad(name, "names contract %q, its contract row (%s) is of contract %q", b.contractID, row.Path, id)
	case status != b.state:
		c.bad(name, "names state %q, its contract row (%s, leaf %d) says %q", b.state, row.Path, latest, status)
	default:
		c.ok(row.Path, "the contract row of %s (tenant %s), status %s, bound to leaf %d, the contract's newest leaf in the bundle",
			b.contractID, b.tenant, status, latest)
	}
}

// column is the string value of a named column of a row item.
func column(it *Item, rc *rowContent, name string) (string, bool) {
	for i, n := range it.Columns {
		if n == name && i < len(rc.Row) {
			var v string
			if json.Unmarshal(rc.Row[i], &v) != nil {
				return "", false
			}
			return v, true
		}
	}
	return "", false
}

// stamps checks each token over the checkpoint note.
func (c *checker) stamps(b *bundle, o checkOptions) {
	if len(b.stamps) == 0 {
		c.ok(PathCheckpoint, "not anchored: no time-stamp in the bundle, so nothing outside the log's key dates the checkpoint")
	}
	for i, s := range b.stamps {
		path := b.stampPaths[i]
		certs, err := tsa.ParseCerts(s.Certs)
		if err != nil {
			c.bad(path, "its certificates: %v", err)
			continue
		}
		v, err := tsa.Verify(s.Token, b.checkpoint, o.tsaRoots, certs)
		if err != nil {
			c.bad(path, "the time-stamp does not verify over the checkpoint: %v", err)
			continue
		}
		c.ok(path, "time-stamp of %s by %q at %s, over the checkpoint's exact bytes (TSA root %s)", s.URL,
			v.Signer.Subject.CommonName, v.Time.UTC().Format("2006-01-02T15:04:05Z"), pinnedWord(v.Pinned))
	}
}

// recordedPDF is the summary's verdict of a document item (nil: none).
func recordedPDF(s Summary, path string) *PDFVerdict {
	for i := range s.PDFs {
		if s.PDFs[i].Path == path {
			return &s.PDFs[i]
		}
	}
	return nil
}

// invalidRecorded reports whether the summary records the document as a
// discrepancy that it does not verify.
func invalidRecorded(s Summary, documentID string) bool {
	for _, d := range s.Discrepancies {
		if d.Kind == "document_invalid" && d.Document == documentID {
			return true
		}
	}
	return false
}

// documents verifies every PDF (offline) and re-shows every validation
// material.
func (c *checker) documents(ctx context.Context, b *bundle, o checkOptions) {
	for i := range b.items {
		it := &b.items[i]
		switch {
		case it.Kind == KindDocument && bytes.HasPrefix(it.Data, []byte("%PDF-")):
			res, err := pdfverify.Verify(ctx, bytes.NewReader(it.Data), int64(len(it.Data)), pdfverify.Options{Roots: o.pdfRoots})
			if err != nil {
				c.bad(it.Path, "the PDF cannot be verified: %v", err)
				continue
			}
			c.pdf(it.Path, res, b.summary, o.pdfRoots != nil)
		case it.Kind == KindValidation:
			var v pdfverify.ValidationData
			if err := json.Unmarshal(it.Data, &v); err != nil {
				c.bad(it.Path, "not verification material: %v", err)
				continue
			}
			problems, worst := v.Reshow()
			if len(problems) > 0 {
				c.bad(it.Path, "the verification material does not re-show: %s", strings.Join(problems, "; "))
				continue
			}
			c.ok(it.Path, "the kept certificates and OCSP/CRL answers re-show offline (worst status %s, collected %s)",
				worst, v.CollectedAt.UTC().Format("2006-01-02T15:04:05Z"))
		}
	}
}

func (c *checker) pdf(path string, res *pdfverify.Result, s Summary, pinned bool) {
	var signers []string
	for _, s := range res.Signatures {
		signers = append(signers, s.Signer)
	}
	trust := "signers not checked against a root (none pinned: --roots)"
	if pinned {
		trust = "every signer chains to a pinned root"
	}
	rec := recordedPDF(s, path)
	problem := res.Problem
	for _, s := range res.Signatures {
		if s.Problem != "" {
			problem += "; " + s.Signer + ": " + s.Problem
		}
	}
	problem = strings.TrimPrefix(problem, "; ")
	// The verdict is this check's own; the summary only has to agree.
	switch {
	case res.Verdict == pdfverify.Valid && rec != nil && rec.Verdict != string(pdfverify.Valid):
		c.bad(path, "PDF signatures valid, but the summary records %q", rec.Verdict)
	case res.Verdict == pdfverify.Valid:
		c.ok(path, "PDF signatures valid (%d: %s); %s", len(res.Signatures), strings.Join(signers, ", "), trust)
	case res.Verdict == pdfverify.NoSignatures && rec != nil && rec.Verdict != string(pdfverify.NoSignatures):
		c.bad(path, "a PDF without any signature, but the summary records %q", rec.Verdict)
	case res.Verdict == pdfverify.NoSignatures:
		c.ok(path, "a PDF without any signature: its bytes are what the log recorded, no signature vouches for its content")
	case rec != nil && rec.Verdict == string(res.Verdict) && invalidRecorded(s, rec.DocumentID):
		c.recorded = append(c.recorded, path)
		defer func() { c.lines[len(c.lines)-1].Discrepancy = true }()
		c.ok(path, "PDF %s (%s): recorded discrepancy — the archived bytes do not verify, as the summary and its "+
			"document_invalid discrepancy record; this proves what was downloaded, not a valid signature", res.Verdict, problem)
	default:
		c.bad(path, "PDF %s: %s", res.Verdict, problem)
	}
}
