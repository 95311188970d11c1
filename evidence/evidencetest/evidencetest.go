// Package evidencetest builds evidence bundle contents from real parts
// for tests: a contract completed on the fake 契约锁 (a signed PDF from
// its CA, with verification material fetched from its OCSP and CRL
// services), a callback, a detail answer and the ledger rows bound to
// leaves of a real RFC 6962 tree kept in memory, a checkpoint signed by a
// real keyring and time-stamped by a real RFC 3161 responder (tsatest).
package evidencetest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// Origin is the fixture log's origin.
const Origin = "evidence.test/qyshook"

// memLog is a real RFC 6962 tree (tlog) kept in memory, with the leaves'
// bytes.
type memLog struct {
	hashes map[int64]tlog.Hash
	leaves [][]byte
}

func (m *memLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memLog) append(tb testing.TB, l receiptlog.Leaf) int64 {
	tb.Helper()
	b, err := l.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	n := int64(len(m.leaves))
	hs, err := tlog.StoredHashes(n, b, m)
	if err != nil {
		tb.Fatal(err)
	}
	base := tlog.StoredHashCount(n)
	for i, h := range hs {
		m.hashes[base+int64(i)] = h
	}
	m.leaves = append(m.leaves, b)
	return n
}

func (m *memLog) tree(tb testing.TB) tlog.Tree {
	tb.Helper()
	n := int64(len(m.leaves))
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		tb.Fatal(err)
	}
	return tlog.Tree{N: n, Hash: h}
}

func (m *memLog) leaf(tb testing.TB, t tlog.Tree, i int64) evidence.Leaf {
	tb.Helper()
	p, err := receiptlog.ProveInclusion(t, i, m)
	if err != nil {
		tb.Fatal(err)
	}
	return evidence.Leaf{Index: i, Bytes: m.leaves[i], Proof: p}
}

// Fixture is a bundle's contents built from real parts, and what a
// verifier pins.
type Fixture struct {
	Contents evidence.Contents
	// Signer is the log's key (it signed the checkpoint); VerifierKey its
	// verifier key.
	Signer      note.Signer
	VerifierKey string
	// TSARoots and PDFRoots hold the authority's root and the fake's CA;
	// CAPEM and TSARootPEM the same as PEM.
	TSARoots   *x509.CertPool
	PDFRoots   *x509.CertPool
	CAPEM      []byte
	TSARootPEM []byte
	// Stamp asks the fixture's authority for a token over data.
	Stamp func(tb testing.TB, data []byte) checkpoint.StoredStamp
}

// Pinned are verify options pinning the fixture's key and roots.
func (f *Fixture) Pinned() evidence.VerifyOptions {
	return evidence.VerifyOptions{VerifierKeys: []string{f.VerifierKey}, TSARoots: f.TSARoots, PDFRoots: f.PDFRoots}
}

// Write writes the fixture's bundle.
func (f *Fixture) Write(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := evidence.Write(&b, f.Contents, f.Signer); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func rowJSON(tb testing.TB, row ...any) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{"row": row})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func idx(i int64) *int64 { return &i }

// Options vary the fixture (the zero value is a sound, complete bundle).
type Options struct {
	// TamperedPDF: the archived PDF is a tampered download (one byte
	// changed after signing), faithfully recorded: its row and leaf hash
	// the tampered bytes, the summary records it invalid with a
	// document_invalid discrepancy.
	TamperedPDF bool
	// NewerContractLeaf: the log holds a later leaf of the contract
	// (status RECALLED) than the one the contract row is bound to, and the
	// bundle carries it among its leaves.
	NewerContractLeaf bool
	// UnsignedPDF: the archived document is a readable PDF without any
	// signature (the fake's draft), recorded "no-signatures".
	UnsignedPDF bool
	// ForeignEvent: the row and payload of an event of another contract,
	// each bound to its real leaf, are among the items.
	ForeignEvent bool
}

// New is NewWith(tb, Options{}).
func New(tb testing.TB) *Fixture { return NewWith(tb, Options{}) }

// NewWith completes a contract on the fake 契约锁 (a real signed PDF
// from its CA, with its verification material collected from the fake's
// OCSP and CRL), records a callback, the detail answer, the contract and
// document rows in an in-memory receipt log among other leaves, signs a
// checkpoint with a real keyring and stamps it with a real RFC 3161
// responder.
func NewWith(tb testing.TB, o Options) *Fixture {
	tb.Helper()
	ctx := context.Background()
	srv := qystest.NewServer()
	tb.Cleanup(srv.Close)
	id := srv.AddContract(qystest.ContractSpec{Subject: "采购合同 <b>&", TenantName: "发起方有限公司",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantCompany, TenantName: "乙公司"},
		}})
	if err := srv.Send(id); err != nil {
		tb.Fatal(err)
	}
	for i := range 2 {
		if err := srv.Sign(id, i); err != nil {
			tb.Fatal(err)
		}
	}
	ct, _ := srv.Contract(id)
	docID := ct.Documents[0].ID.String()
	pdf, err := io.ReadAll(srv.DocumentContent(docID))
	if err != nil {
		tb.Fatal(err)
	}
	vd, err := pdfverify.Collect(ctx, bytes.NewReader(pdf), int64(len(pdf)), pdfverify.CollectOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	validation, _ := json.Marshal(vd)
	ca, err := srv.CACertificate()
	if err != nil {
		tb.Fatal(err)
	}
	caPEM, _ := srv.CACertificatePEM()
	pdfRoots := x509.NewCertPool()
	pdfRoots.AddCert(ca)
	res, err := pdfverify.Verify(ctx, bytes.NewReader(pdf), int64(len(pdf)), pdfverify.Options{Roots: pdfRoots})
	if err != nil || res.Verdict != pdfverify.Valid {
		tb.Fatalf("the fake's PDF: %v %+v", err, res)
	}
	if o.TamperedPDF {
		pdf = bytes.Clone(pdf)
		pdf[len(pdf)/2] ^= 1
	}
	if o.UnsignedPDF {
		draft, _ := srv.Contract(srv.AddContract(qystest.ContractSpec{Subject: "draft"}))
		if pdf, err = io.ReadAll(srv.DocumentContent(draft.Documents[0].ID.String())); err != nil {
			tb.Fatal(err)
		}
	}

	callback := []byte(`{"contractId":"` + id + `","contractStatus":"COMPLETE","callbackType":"CONTRACT_COMPLETE"}`)
	detail := []byte(`{"code":0,"message":"SUCCESS","result":{"id":"` + id + `","status":"COMPLETE"}}`)
	eventRow := rowJSON(tb, "E1", "default", "contract", "CONTRACT_COMPLETE", id, "callback",
		"2026-12-07T10:00:00Z", "2026-12-07T10:00:01Z", receiptlog.SHA256Hex(callback))
	contractRow := rowJSON(tb, "default", id, "BIZ-1", "采购合同", "COMPLETE", true, 2,
		"2026-12-07T10:00:01Z", "2026-12-07T10:00:01Z", receiptlog.SHA256Hex(detail))
	docRow := rowJSON(tb, "default", docID, id, "合同.pdf", receiptlog.SHA256Hex(pdf), len(pdf),
		"documents/sha256/ab/x.pdf", receiptlog.SHA256Hex(validation), "[]")

	log := &memLog{hashes: map[int64]tlog.Hash{}}
	filler := func(ref string) {
		log.append(tb, receiptlog.Leaf{V: 1, Kind: receiptlog.KindAudit, Ref: ref, SHA256: receiptlog.SHA256Hex([]byte(ref))})
	}
	for i := range 5 {
		filler("a" + string(rune('0'+i)))
	}
	iEvent := log.append(tb, receiptlog.Leaf{V: 1, Kind: receiptlog.KindEvent, Tenant: "default", Ref: "E1",
		SHA256: receiptlog.SHA256Hex(eventRow), BodySHA256: receiptlog.SHA256Hex(callback), Type: "CONTRACT_COMPLETE",
		Source: "callback", Verdict: "verified", StreamSeq: 7, At: "2026-12-07T10:00:00Z"})
	iContract := log.append(tb, receiptlog.Leaf{V: 1, Kind: receiptlog.KindContract, Tenant: "default", Ref: id,
		SHA256: receiptlog.SHA256Hex(contractRow), BodySHA256: receiptlog.SHA256Hex(detail)})
	refusal := []byte(`{"refused":true,"code":1100102}`)
	refusalRow := rowJSON(tb, "default", id+"#NOTARY", id, "存证报告", receiptlog.SHA256Hex(refusal), len(refusal),
		"documents/sha256/cd/y.json", "", "[]")
	iRefusal := log.append(tb, receiptlog.Leaf{V: 1, Kind: receiptlog.KindDocument, Tenant: "default", Ref: id + "#NOTARY",
		SHA256: receiptlog.SHA256Hex(refusalRow), BodySHA256: receiptlog.SHA256Hex(refusal)})
	iDoc := log.append(tb, receiptlog.Leaf{V: 1, Kind: receiptlog.KindDocument, Tenant: "default", Ref: docID,
		SHA256: receiptlog.SHA256Hex(docRow), BodySHA256: receiptlog.SHA256Hex(pdf), Size: int64(len(pdf))})
	for i := range 6 {
		filler("c" + string(rune('0'+i)))
	}
	var extra []int64
	var foreignItems []evidence.Item
	if o.NewerContractLeaf {
		newer := rowJSON(tb, "default", id, "BIZ-1", "采购合同", "RECALLED", true, 2,
			"2026-12-07T10:00:09Z", "2026-12-07T10:00:01Z", receiptlog.SHA256Hex(detail))
		extra = append(extra, log.append(tb, receiptlog.Leaf{V: 1, Kind: receiptlog.KindContract, Tenant: "default", Ref: id,
			SHA256: receiptlog.SHA256Hex(newer), BodySHA256: receiptlog.SHA256Hex(detail)}))
	}
	if o.ForeignEvent {
		payload := []byte(`{"contractId":"other-contract","contractStatus":"COMPLETE","callbackType":"CONTRACT_COMPLETE"}`)
		row := rowJSON(tb, "E9", "default", "contract", "CONTRACT_COMPLETE", "other-contract", "callback",
			"2026-12-07T10:00:00Z", "2026-12-07T10:00:01Z", receiptlog.SHA256Hex(payload))
		i := log.append(tb, receiptlog.Leaf{V: 1, Kind: receiptlog.KindEvent, Tenant: "default", Ref: "E9",
			SHA256: receiptlog.SHA256Hex(row), BodySHA256: receiptlog.SHA256Hex(payload), Type: "CONTRACT_COMPLETE",
			Source: "callback", Verdict: "verified", StreamSeq: 9, At: "2026-12-07T10:00:00Z"})
		extra = append(extra, i)
		foreignItems = append(foreignItems,
			evidence.Item{Path: "rows/event-E9.json", Kind: evidence.KindRow, Data: row, Leaf: idx(i), Field: evidence.FieldSHA256,
				Columns: []string{"id", "tenant", "kind", "type", "contract_id", "source", "received_at", "applied_at", "payload"}},
			evidence.Item{Path: "callbacks/E9.json", Kind: evidence.KindCallback, Data: payload, Leaf: idx(i), Field: evidence.FieldBodySHA256})
	}
	tree := log.tree(tb)

	k, err := checkpoint.New(checkpoint.Options{Origin: Origin, KeyFile: filepath.Join(tb.TempDir(), "key"), Generate: true})
	if err != nil {
		tb.Fatal(err)
	}
	cp, err := k.Sign(tree)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(r)
	tb.Cleanup(ts.Close)
	cl, err := tsa.New(tsa.Options{URLs: []string{ts.URL}, Roots: r.Roots()})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := cl.Stamp(ctx, ts.URL, cp)
	if err != nil {
		tb.Fatal(err)
	}

	eventCols := []string{"id", "tenant", "kind", "type", "contract_id", "source", "received_at", "applied_at", "payload"}
	contractCols := []string{"tenant", "id", "biz_id", "subject", "status", "confirmed", "signed_count", "updated_at", "completed_at", "detail"}
	docCols := []string{"tenant", "id", "contract_id", "title", "sha256", "size", "path", "validation_sha256", "discrepancies"}
	c := evidence.Contents{Tenant: "default", ContractID: id, Version: 1, State: "COMPLETE",
		BuiltAt: time.Date(2026, 12, 7, 10, 5, 0, 0, time.UTC),
		Items: []evidence.Item{
			{Path: "rows/event-E1.json", Kind: evidence.KindRow, Data: eventRow, Leaf: idx(iEvent), Field: evidence.FieldSHA256, Columns: eventCols,
				Note: "the ledger's row of event E1", NoteZH: "事件 E1 的账本行"},
			{Path: "callbacks/E1.json", Kind: evidence.KindCallback, Data: callback, Leaf: idx(iEvent), Field: evidence.FieldBodySHA256,
				Note: "the CONTRACT_COMPLETE callback's payload as applied", NoteZH: "合同完成回调（原文）"},
			{Path: "rows/contract.json", Kind: evidence.KindRow, Data: contractRow, Leaf: idx(iContract), Field: evidence.FieldSHA256, Columns: contractCols,
				Note: "the contract's row, COMPLETE"},
			{Path: "api/detail-COMPLETE.json", Kind: evidence.KindAPIAnswer, Data: detail, Leaf: idx(iContract), Field: evidence.FieldBodySHA256,
				Note: "the /v2/contract/detail answer that confirmed COMPLETE"},
			{Path: "rows/document-" + docID + ".json", Kind: evidence.KindRow, Data: docRow, Leaf: idx(iDoc), Field: evidence.FieldSHA256, Columns: docCols,
				Note: "the document's row"},
			{Path: "documents/" + docID + ".pdf", Kind: evidence.KindDocument, Data: pdf, Leaf: idx(iDoc), Field: evidence.FieldBodySHA256,
				Note: "the signed PDF as archived", NoteZH: "已签署的合同文件"},
			{Path: "documents/" + docID + ".validation.json", Kind: evidence.KindValidation, Data: validation,
				Row: "rows/document-" + docID + ".json", Column: "validation_sha256",
				Note: "the PDF's certificates and OCSP/CRL answers when archived"},
			{Path: "rows/document-NOTARY.json", Kind: evidence.KindRow, Data: refusalRow, Leaf: idx(iRefusal), Field: evidence.FieldSHA256,
				Columns: docCols, Note: "the row of the 存证报告's refusal record"},
			{Path: "items/NOTARY.json", Kind: evidence.KindRefusal, Data: refusal, Leaf: idx(iRefusal), Field: evidence.FieldBodySHA256,
				Note: "存证报告 refused by the platform"},
		},
		Checkpoint:  cp,
		Stamps:      []checkpoint.StoredStamp{{URL: st.URL, Token: st.Token, Certs: st.Certs}},
		VerifierKey: k.VerifierKey(),
		Summary: evidence.Summary{Subject: "采购合同 <b>&", BizID: "BIZ-1", Sponsor: "发起方有限公司",
			Parties: []evidence.Party{{Name: "甲公司", Type: "COMPANY", Status: "SIGNED"}, {Name: "乙公司", Type: "COMPANY", Status: "SIGNED"}},
			States:  []evidence.StateChange{{Status: "COMPLETE", At: time.Date(2026, 12, 7, 10, 0, 1, 0, time.UTC), Source: "callback", EventID: "E1"}},
			PDFs: []evidence.PDFVerdict{{DocumentID: docID, Title: "合同.pdf", Path: "documents/" + docID + ".pdf", Verdict: "valid",
				Signers: []evidence.PDFSigner{{Name: "甲公司", Trusted: true}, {Name: "乙公司", Trusted: true}}, ValidationStatus: "good"}},
			Notes: []string{"存证报告 refused by the platform: code 1100102"}},
	}
	c.Items = append(c.Items, foreignItems...)
	if o.TamperedPDF {
		p := &c.Summary.PDFs[0]
		p.Verdict, p.Problem = "invalid", "the signed bytes changed"
		p.Signers = nil
		c.Summary.Discrepancies = []evidence.Discrepancy{{Kind: "document_invalid", Document: docID, Detail: "the PDF does not verify"}}
	}
	if o.UnsignedPDF {
		p := &c.Summary.PDFs[0]
		p.Verdict, p.Signers = "no-signatures", nil
	}
	for _, i := range append([]int64{iEvent, iContract, iDoc, 0, iRefusal}, extra...) {
		c.Leaves = append(c.Leaves, log.leaf(tb, tree, i))
	}
	return &Fixture{Contents: c, Signer: k.Signer(), VerifierKey: k.VerifierKey(), TSARoots: r.Roots(), PDFRoots: pdfRoots,
		CAPEM: caPEM, TSARootPEM: r.RootPEM(),
		Stamp: func(tb testing.TB, data []byte) checkpoint.StoredStamp {
			tb.Helper()
			st, err := cl.Stamp(context.Background(), ts.URL, data)
			if err != nil {
				tb.Fatal(err)
			}
			return checkpoint.StoredStamp{URL: st.URL, Token: st.Token, Certs: st.Certs}
		}}
}
