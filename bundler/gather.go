package bundler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/crosscheck"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// ErrFileChanged: an archived file no longer hashes to what its document
// row (and leaf) say.
var ErrFileChanged = errors.New("bundler: archived file does not match its row")

// gathering is one contract's contents being assembled.
type gathering struct {
	c      evidence.Contents
	leaves map[int64][]byte // index → leaf bytes
	// found are the found-edited leaves of the rows included, as the
	// summary's discrepancies.
	found []evidence.Discrepancy
	// signers are the signatures read from each archived PDF, by
	// document id.
	signers map[string][]evidence.PDFSigner
}

// history adds the found-edited leaves (receiptlog.FoundEdited) of one
// row to g, each as a discrepancy; with all, every leaf of the row (the
// contract's history). Events and facts are not rewritten by qyshook, so
// none is expected there, but they are looked at all the same.
func (b *Bundler) history(ctx context.Context, g *gathering, kind, tenant, ref string, all bool) error {
	ls, err := b.o.Ledger.LogLeaves(ctx, kind, tenant, ref, 0)
	if err != nil {
		return fmt.Errorf("bundler: leaves of %s %s: %w", kind, ref, err)
	}
	for _, l := range ls {
		pl, err := receiptlog.Parse(l.Leaf)
		found := err == nil && pl.Found != ""
		if all || found {
			g.leaf(l)
		}
		if !found {
			continue
		}
		d := evidence.Discrepancy{Kind: DiscrepancyEditedOutside, Detail: fmt.Sprintf(
			"%s %s: leaf %d records the row found edited outside qyshook (content sha256 %s…) when qyshook next wrote it; "+
				"the row in this bundle is that later write. 行在 qyshook 之外被修改。", kind, ref, l.Index, pl.SHA256[:12])}
		if pl.Found == receiptlog.FoundDeleted {
			d.Detail = fmt.Sprintf("%s %s: leaf %d records the row found deleted outside qyshook (its last leaf's content sha256 %s…) "+
				"when qyshook next created it; the row in this bundle is that later write. 行在 qyshook 之外被删除。", kind, ref, l.Index, pl.SHA256[:12])
		}
		switch kind {
		case receiptlog.KindEvent:
			d.Event = ref
		case receiptlog.KindDocument:
			d.Document = ref
		}
		g.found = append(g.found, d)
	}
	return nil
}

func (g *gathering) leaf(l store.LogLeaf) *int64 {
	g.leaves[l.Index] = l.Leaf
	idx := l.Index
	return &idx
}

// row adds a row's content item (bound to its latest leaf's sha256) and
// returns it.
func (g *gathering) row(p string, rc store.RowContent, note string) {
	g.c.Items = append(g.c.Items, evidence.Item{Path: p, Kind: evidence.KindRow, Data: rc.Content, Leaf: g.leaf(rc.Leaf),
		Field: evidence.FieldSHA256, Columns: rc.Columns, Note: note})
}

// body adds an item bound to a leaf's body_sha256.
func (g *gathering) body(p, kind string, data []byte, l store.LogLeaf, note string) {
	g.c.Items = append(g.c.Items, evidence.Item{Path: p, Kind: kind, Data: data, Leaf: g.leaf(l),
		Field: evidence.FieldBodySHA256, Note: note})
}

// Build gathers, writes and records the next bundle of d. It returns
// ErrWaiting when no usable checkpoint covers the leaves yet, and an error
// wrapping store.ErrRowEdited or ErrFileChanged when the ledger no longer
// matches its receipt log.
func (b *Bundler) Build(ctx context.Context, d store.DueContract) (store.Bundle, error) {
	g := &gathering{leaves: map[int64][]byte{}}
	g.c = evidence.Contents{Tenant: d.Tenant, ContractID: d.ID, Version: d.LastVersion + 1, BuiltAt: b.o.Now().UTC(),
		VerifierKey: b.o.VerifierKey}
	// The head before the rows are read: every leaf of the contract below
	// it is reflected in what gather reads. A checkpoint larger than it may
	// hold a leaf of the contract committed after the read (a document
	// archived meanwhile): SaveBundle takes the contract off the queue for
	// every leaf below the checkpoint, so such a bundle would leave that
	// leaf out for good. Wait for the next pass instead.
	head, err := b.o.Ledger.LogHead(ctx)
	if err != nil {
		return store.Bundle{}, fmt.Errorf("bundler: log head: %w", err)
	}
	c, err := b.gather(ctx, g, d)
	if err != nil {
		return store.Bundle{}, err
	}
	g.c.State = c.Status
	maxIdx := int64(-1)
	for idx := range g.leaves {
		maxIdx = max(maxIdx, idx)
	}
	cp, err := b.checkpoint(ctx, maxIdx, &g.c.Summary)
	if err != nil {
		return store.Bundle{}, err
	}
	if cp.Size > head.N {
		return store.Bundle{}, fmt.Errorf("%w (checkpoint %d is newer than the log of %d leaves the rows were read at)", ErrWaiting, cp.Size, head.N)
	}
	g.c.Checkpoint = cp.Note
	for _, st := range cp.Stamps {
		g.c.Stamps = append(g.c.Stamps, checkpoint.StoredStamp{URL: st.TSAURL, Token: st.Token, Certs: checkpoint.PEMCerts(st.Certs)})
	}
	idxs := make([]int64, 0, len(g.leaves))
	for idx := range g.leaves {
		idxs = append(idxs, idx)
	}
	sort.Slice(idxs, func(i, j int) bool { return idxs[i] < idxs[j] })
	for _, idx := range idxs {
		_, proof, err := b.o.Ledger.LogInclusion(ctx, idx, cp.Size)
		if err != nil {
			return store.Bundle{}, fmt.Errorf("bundler: prove leaf %d in checkpoint %d: %w", idx, cp.Size, err)
		}
		g.c.Leaves = append(g.c.Leaves, evidence.Leaf{Index: idx, Bytes: g.leaves[idx], Proof: proof})
	}
	w, err := b.write(path.Join("evidence", d.Tenant, d.ID), g.c)
	if err != nil {
		return store.Bundle{}, err
	}
	out := store.Bundle{Tenant: d.Tenant, ContractID: d.ID, Version: g.c.Version, State: c.Status, ContractLeaf: d.ContractLeaf,
		CheckpointSize: cp.Size, SHA256: w.sum, Size: w.size, Path: w.rel, Items: len(g.c.Items),
		Discrepancies: len(g.c.Summary.Discrepancies), BuiltAt: g.c.BuiltAt}
	if err := b.o.Ledger.SaveBundle(ctx, out); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return store.Bundle{}, b.lostRace(ctx, out, w.created, err)
		}
		// Nothing refers to the zip yet, but another builder of the same
		// bytes (same name) may record it: removed once this version is
		// recorded, unless it is the recorded file (sweepOrphans).
		if w.created {
			b.orphan(orphanKey{out.Tenant, out.ContractID, out.Version}, out.Path)
		}
		return store.Bundle{}, fmt.Errorf("bundler: record bundle: %w", err)
	}
	return out, nil
}

// lostRace: another builder recorded version out.Version first. This
// builder's zip is removed unless the recorded bundle is that very file
// (both builders wrote the same bytes, so the same name).
func (b *Bundler) lostRace(ctx context.Context, out store.Bundle, created bool, dup error) error {
	if created {
		rec, err := b.o.Ledger.Bundle(ctx, out.Tenant, out.ContractID, out.Version)
		if err != nil {
			return fmt.Errorf("bundler: record bundle: %w (and reading the recorded one: %v)", dup, err)
		}
		if rec.Path != out.Path {
			if err := os.Remove(filepath.Join(b.o.DataDir, filepath.FromSlash(out.Path))); err != nil {
				return fmt.Errorf("%w: remove %s: %v", ErrLostRace, out.Path, err)
			}
		}
	}
	return fmt.Errorf("%w (version %d): %v", ErrLostRace, out.Version, dup)
}

// gather adds the contract's items and leaves to g and fills its summary.
func (b *Bundler) gather(ctx context.Context, g *gathering, d store.DueContract) (*store.Contract, error) {
	l := b.o.Ledger
	c, err := l.Contract(ctx, d.Tenant, d.ID)
	if err != nil {
		return nil, fmt.Errorf("bundler: read contract: %w", err)
	}
	rc, err := l.RowEvidence(ctx, receiptlog.KindContract, d.Tenant, d.ID)
	if err != nil {
		return nil, err
	}
	if rc.Leaf.Index != d.ContractLeaf {
		// Changed since it was found due: the next pass builds over the new state.
		return nil, fmt.Errorf("bundler: contract changed meanwhile (leaf %d, was %d): %w", rc.Leaf.Index, d.ContractLeaf, ErrWaiting)
	}
	g.row("ledger/contract.json", rc, "The contract row and its signatories, as the receipt log's leaf covers them.")
	if rc.Body != nil {
		g.body("api/contract-detail.json", evidence.KindAPIAnswer, rc.Body, rc.Leaf,
			"The /v2/contract/detail answer that confirmed the contract's last state, verbatim.")
	}
	if err := b.history(ctx, g, receiptlog.KindContract, d.Tenant, d.ID, true); err != nil {
		return nil, err
	}
	if err := b.answers(ctx, g, d, rc); err != nil {
		return nil, err
	}
	refs, err := l.EvidenceRefs(ctx, d.Tenant, d.ID)
	if err != nil {
		return nil, fmt.Errorf("bundler: %w", err)
	}
	evs, err := l.Events(ctx, d.Tenant, d.ID)
	if err != nil {
		return nil, fmt.Errorf("bundler: events: %w", err)
	}
	var callbacks []crosscheck.Callback
	for _, ev := range evs {
		rc, err := l.RowEvidence(ctx, receiptlog.KindEvent, d.Tenant, ev.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, err
		}
		if err := b.history(ctx, g, receiptlog.KindEvent, d.Tenant, ev.ID, false); err != nil {
			return nil, err
		}
		name := safeName(ev.ID)
		g.row("events/"+name+".row.json", rc, fmt.Sprintf("The ledger row of event %s (%s, %s).", ev.ID, ev.Source, ev.Type))
		if rc.Body != nil {
			kind := evidence.KindOther
			if ev.Source == "callback" {
				kind = evidence.KindCallback
				callbacks = append(callbacks, crosscheck.Callback{EventID: ev.ID, Type: ev.Type, Payload: rc.Body})
			}
			g.body("events/"+name+".json", kind, rc.Body, rc.Leaf, fmt.Sprintf("The payload of event %s as applied.", ev.ID))
		}
		at := ev.AppliedAt
		if at.IsZero() {
			at = ev.ReceivedAt
		}
		g.c.Summary.States = append(g.c.Summary.States, evidence.StateChange{Status: ev.Type, At: at, Source: ev.Source, EventID: ev.ID})
	}
	var factStates []evidence.StateChange
	for _, id := range refs.Facts {
		rc, err := l.RowEvidence(ctx, receiptlog.KindFact, d.Tenant, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := b.history(ctx, g, receiptlog.KindFact, d.Tenant, id, false); err != nil {
			return nil, err
		}
		name := safeName(id)
		g.row("facts/"+name+".row.json", rc, "The ledger row of a fact published about the contract.")
		if rc.Body != nil {
			g.body("facts/"+name+".json", evidence.KindFact, rc.Body, rc.Leaf, "The fact as published on QYS_LEDGER.")
			var f events.Fact
			if json.Unmarshal(rc.Body, &f) == nil && f.Kind == events.FactContractStatus && f.Status != "" {
				src := f.Source
				if f.Confirmed && src == "" {
					src = "api"
				}
				factStates = append(factStates, evidence.StateChange{Status: f.Status, At: f.OccurredAt, Source: src, EventID: f.CauseEventID})
			}
		}
	}
	// The ledger's own state changes when their facts are still kept
	// (the outbox is pruned once published); else the events applied.
	if len(factStates) > 0 {
		sort.SliceStable(factStates, func(i, j int) bool { return factStates[i].At.Before(factStates[j].At) })
		g.c.Summary.States = factStates
	}
	if err := b.documents(ctx, g, c); err != nil {
		return nil, err
	}
	b.summary(g, c, callbacks)
	return c, nil
}

// answers adds the detail answer that confirmed each earlier state of
// the contract (each leaf whose body_sha256 is not the current detail's),
// from the answers the ledger keeps (migration 0019), at
// api/contract-detail-<leaf>.json bound to that leaf. An answer not kept
// (a state confirmed before the migration) gets a summary note instead.
func (b *Bundler) answers(ctx context.Context, g *gathering, d store.DueContract, rc store.RowContent) error {
	l := b.o.Ledger
	cur := ""
	if rc.Body != nil {
		cur = receiptlog.SHA256Hex(rc.Body)
	}
	ls, err := l.LogLeaves(ctx, receiptlog.KindContract, d.Tenant, d.ID, 0)
	if err != nil {
		return fmt.Errorf("bundler: leaves of contract %s: %w", d.ID, err)
	}
	var kept map[string][]byte
	for _, lf := range ls {
		pl, err := receiptlog.Parse(lf.Leaf)
		if err != nil || pl.BodySHA256 == "" || pl.BodySHA256 == cur || lf.Index == rc.Leaf.Index {
			continue
		}
		if kept == nil {
			as, err := l.ContractAnswers(ctx, d.Tenant, d.ID)
			if err != nil {
				return fmt.Errorf("bundler: %w", err)
			}
			kept = make(map[string][]byte, len(as))
			for _, a := range as {
				kept[a.SHA256] = a.Answer
			}
		}
		answer, ok := kept[pl.BodySHA256]
		switch {
		case ok:
			g.body(fmt.Sprintf("api/contract-detail-%d.json", lf.Index), evidence.KindAPIAnswer, answer, lf,
				fmt.Sprintf("The /v2/contract/detail answer that confirmed the contract's state at leaf %d, verbatim.", lf.Index))
		case pl.Found == receiptlog.FoundEdited:
			g.c.Summary.Notes = append(g.c.Summary.Notes, fmt.Sprintf(
				"the detail of leaf %d is the row as found edited outside qyshook, not a kept answer. 该状态的接口应答未保存。", lf.Index))
		default:
			g.c.Summary.Notes = append(g.c.Summary.Notes, fmt.Sprintf(
				"the answer that confirmed leaf %d is not kept (before migration 0019). 该状态的接口应答未保存。", lf.Index))
		}
	}
	return nil
}

// documents adds each document row with its archived file and
// verification material.
func (b *Bundler) documents(ctx context.Context, g *gathering, c *store.Contract) error {
	for _, doc := range c.Documents {
		rc, err := b.o.Ledger.RowEvidence(ctx, receiptlog.KindDocument, c.Tenant, doc.ID)
		if err != nil {
			return err
		}
		if err := b.history(ctx, g, receiptlog.KindDocument, c.Tenant, doc.ID, false); err != nil {
			return err
		}
		name := safeName(doc.ID)
		rowPath := "documents/" + name + ".row.json"
		g.row(rowPath, rc, "The ledger row of document "+doc.ID+" (its archived file's hash, size and path).")
		leaf, err := receiptlog.Parse(rc.Leaf.Leaf)
		if err != nil {
			return fmt.Errorf("bundler: document %s: %w", doc.ID, err)
		}
		if leaf.BodySHA256 != "" && doc.Path != "" {
			data, err := b.readArchived(doc.Path, leaf.BodySHA256)
			if err != nil {
				return fmt.Errorf("bundler: document %s: %w", doc.ID, err)
			}
			kind := documentKind(doc, data)
			g.body("documents/"+name+ext(doc.Path), kind, data, rc.Leaf, kindNote(kind))
			if kind == evidence.KindDocument && doc.VerifyVerdict != "" {
				g.pdfSigners(ctx, doc.ID, data)
			}
		} else {
			// A file archived later queues the contract again (its
			// document leaf, evidence_due): a new version carries it.
			g.c.Summary.Notes = append(g.c.Summary.Notes, missingNote(doc))
		}
		if doc.ValidationSHA256 != "" && doc.ValidationPath != "" {
			data, err := b.readArchived(doc.ValidationPath, doc.ValidationSHA256)
			if err != nil {
				return fmt.Errorf("bundler: verification material of %s: %w", doc.ID, err)
			}
			g.c.Items = append(g.c.Items, evidence.Item{Path: "documents/" + name + ".validation.json", Kind: evidence.KindValidation,
				Data: data, Row: rowPath, Column: "validation_sha256",
				Note: "The certificate chains and OCSP/CRL answers the PDF's verification rested on, fetched at archive time."})
		}
	}
	return nil
}

// pdfSigners reads the signatures of an archived PDF (offline, as the
// archiver verified it: no roots, so Trusted is the system roots' word)
// for the report's signer, signing-time and trust column. A PDF that
// cannot be read leaves the column empty: its verdict says why.
func (g *gathering) pdfSigners(ctx context.Context, docID string, data []byte) {
	res, err := pdfverify.Verify(ctx, bytes.NewReader(data), int64(len(data)), pdfverify.Options{})
	if err != nil || res == nil {
		return
	}
	if g.signers == nil {
		g.signers = map[string][]evidence.PDFSigner{}
	}
	for _, sg := range res.Signatures {
		g.signers[docID] = append(g.signers[docID], evidence.PDFSigner{Name: sg.Signer, SigningTime: sg.SigningTime.UTC(), Trusted: sg.Trusted})
	}
}

// missingNote says why a document's file is not in the bundle. The
// reason is the archiver's error text (no document title: notes are not
// masked for a viewer).
func missingNote(doc store.Document) string {
	var why string
	switch doc.ArchiveState {
	case store.ArchiveFailed:
		reason := strings.TrimSpace(doc.LastError)
		if reason == "" {
			reason = "no reason recorded"
		}
		if len(reason) > 300 {
			reason = strings.ToValidUTF8(reason[:300], "") + "…"
		}
		why = "archive failed: " + reason
	case store.ArchiveNone:
		why = "never queued for archive"
	case store.ArchiveArchived:
		why = "archived without a file recorded"
	default:
		why = "not archived (state " + doc.ArchiveState + ")"
	}
	return fmt.Sprintf("document %s: %s, not in this bundle. 文件未收入本证据包。", doc.ID, why)
}

// readArchived reads a file of the data dir and checks its SHA-256.
func (b *Bundler) readArchived(rel, want string) ([]byte, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return nil, fmt.Errorf("path %q is not inside the data dir: %w", rel, ErrFileChanged)
	}
	data, err := os.ReadFile(filepath.Join(b.o.DataDir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("%s hashes to %s, its row says %s: %w", rel, got[:12], want[:min(12, len(want))], ErrFileChanged)
	}
	return data, nil
}

// documentKind tells what an archived file is from its document id (the
// archiver's suffixes, store.OplogSuffix, store.ItemInfix) and bytes.
func documentKind(doc store.Document, data []byte) string {
	id := doc.ID
	switch {
	case strings.HasSuffix(id, store.OplogSuffix):
		return evidence.KindOplog
	case strings.Contains(id, store.ItemInfix):
		if strings.HasSuffix(doc.Path, ".json") && bytes.Contains(data, []byte(`"refused"`)) {
			return evidence.KindRefusal
		}
		switch id[strings.LastIndex(id, store.ItemInfix)+len(store.ItemInfix):] {
		case "ATTACHMENT":
			return evidence.KindAttachment
		case "NOTARY":
			return evidence.KindNotary
		case "ENDSIGN_ATTACHMENT":
			return evidence.KindEndsign
		}
		return evidence.KindOther
	case strings.Contains(strings.ToUpper(id), "SIGNLOG") || strings.Contains(strings.ToUpper(doc.Title), "SIGNLOG"):
		return evidence.KindSignlog
	case strings.HasSuffix(id, store.BundleSuffix):
		return evidence.KindOther
	case bytes.HasPrefix(data, []byte("%PDF")):
		return evidence.KindDocument
	}
	return evidence.KindOther
}

func kindNote(kind string) string {
	switch kind {
	case evidence.KindDocument:
		return "The signed PDF as archived."
	case evidence.KindOplog:
		return "The platform's operation log of the contract, as sent."
	case evidence.KindAttachment:
		return "The platform's attachments zip, as sent."
	case evidence.KindNotary:
		return "The platform's 存证报告 (notary report), as sent."
	case evidence.KindEndsign:
		return "The forced-end attachments zip, as sent."
	case evidence.KindSignlog:
		return "The signing log, as sent."
	case evidence.KindRefusal:
		return "The platform's refusal to serve this item, its answer verbatim."
	}
	return "An archived file of the contract."
}

// ext is the file extension of an archived path (".bin" when none).
func ext(p string) string {
	if e := path.Ext(p); e != "" && len(e) <= 8 {
		return e
	}
	return ".bin"
}

// safeName makes an id a path element: letters, digits, '.', '-' and
// '_' are kept, anything else becomes '_'.
func safeName(id string) string {
	var s strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			s.WriteRune(r)
		default:
			s.WriteByte('_')
		}
	}
	out := s.String()
	if out == "" || out == "." || out == ".." {
		out = "_" + out
	}
	return out
}

// summary fills what the report shows.
func (b *Bundler) summary(g *gathering, c *store.Contract, callbacks []crosscheck.Callback) {
	s := &g.c.Summary
	s.Subject, s.BizID = c.Subject, c.BizID
	s.Discrepancies = append(s.Discrepancies, g.found...)
	var detail *qys.Contract
	if c.Confirmed && len(c.Detail) > 0 {
		var d qys.Contract
		if err := json.Unmarshal(c.Detail, &d); err == nil {
			detail = &d
		}
	}
	for _, sg := range c.Signatories {
		s.Parties = append(s.Parties, evidence.Party{Name: sg.TenantName, Type: sg.TenantType, Status: sg.Status,
			SignedAt: signedAt(detail, sg)})
	}
	last := evidence.StateChange{Status: c.Status, At: c.UpdatedAt, Source: "api"}
	if n := len(s.States); n == 0 || s.States[n-1].Status != c.Status {
		s.States = append(s.States, last)
	}
	for _, doc := range c.Documents {
		if doc.VerifyVerdict != "" {
			p := evidence.PDFVerdict{DocumentID: doc.ID, Title: doc.Title, Verdict: doc.VerifyVerdict,
				ValidationStatus: doc.ValidationStatus, Problem: doc.VerifyProblem}
			if doc.Path != "" {
				p.Path = "documents/" + safeName(doc.ID) + ext(doc.Path)
			}
			p.Signers = g.signers[doc.ID]
			s.PDFs = append(s.PDFs, p)
		}
		if doc.Discrepancies == "" {
			continue
		}
		var found []crosscheck.Discrepancy
		if err := json.Unmarshal([]byte(doc.Discrepancies), &found); err != nil {
			s.Notes = append(s.Notes, "The cross-source check of document "+doc.ID+" could not be read.")
			continue
		}
		addDiscrepancies(s, found)
	}
	if detail != nil {
		if detail.Status == "" {
			detail.Status = c.Status
		}
		s.Sponsor = detail.TenantName
		addDiscrepancies(s, crosscheck.CompareCallbacks(detail, callbacks))
	}
}

// signedAt is when the detail answer says signatory sg finished
// (completeTime, "2006-01-02 15:04:05" in UTC+8, or RFC 3339), matched by
// id, else by serial number and name; zero when unknown.
func signedAt(detail *qys.Contract, sg store.Signatory) time.Time {
	if detail == nil {
		return time.Time{}
	}
	var raw string
	for _, ds := range detail.Signatories {
		if sg.ID != "" && string(ds.ID) == sg.ID {
			raw = ds.CompleteTime
			break
		}
		if raw == "" && ds.SerialNo == sg.SerialNo && ds.TenantName == sg.TenantName {
			raw = ds.CompleteTime
		}
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return time.Time{}
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05", raw, qys.ShanghaiTime); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// addDiscrepancies adds found, skipping ones already listed (a callback's
// discrepancy is recorded with each PDF of the contract).
func addDiscrepancies(s *evidence.Summary, found []crosscheck.Discrepancy) {
	for _, x := range found {
		d := evidence.Discrepancy{Kind: string(x.Kind), Document: x.Document, Party: x.Party, Event: x.Event, Detail: x.Detail}
		dup := false
		for _, have := range s.Discrepancies {
			if have.Kind == d.Kind && have.Party == d.Party && have.Event == d.Event && (d.Event != "" || have.Document == d.Document) {
				dup = true
				break
			}
		}
		if !dup {
			s.Discrepancies = append(s.Discrepancies, d)
		}
	}
}

// DiscrepancyEditedOutside is the summary's discrepancy kind of a
// found-edited leaf (receiptlog.FoundEdited): a commit found the row
// differing from its last leaf, edited outside qyshook, and wrote over it.
const DiscrepancyEditedOutside = "edited_outside"
