package archiver_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// commitSigned has the fake complete a contract signed by two companies
// and commits it as the dispatcher does, its PDF and the given items
// queued; it returns the contract and document ids.
func (r *rig) commitSigned(items ...string) (string, string) {
	r.t.Helper()
	id := r.fake.AddContract(qystest.ContractSpec{Subject: "s", Signatories: []qystest.SignatorySpec{
		{TenantType: qystest.TenantCompany, TenantName: "Alpha Co"},
		{TenantType: qystest.TenantCompany, TenantName: "Beta Co"}}})
	if err := r.fake.Send(id); err != nil {
		r.t.Fatal(err)
	}
	for i := range 2 {
		if err := r.fake.Sign(id, i); err != nil {
			r.t.Fatal(err)
		}
	}
	c, _ := r.fake.Contract(id)
	docID := string(c.Documents[0].ID)
	docs := []store.Document{{ID: docID, Title: "main"}}
	for _, it := range items {
		docs = append(docs, store.Document{ID: id + store.ItemInfix + it, Title: it})
	}
	_, err := r.ledger.ApplyContract(context.Background(), store.ContractChange{
		Event: store.Event{ID: "ev-" + id, Tenant: "default", Kind: events.KindContract, Type: "COMPLETE", ContractID: id},
		Contract: store.Contract{Tenant: "default", ID: id, Status: lifecycle.Complete, Confirmed: true,
			Documents: docs},
		ArchiveDocuments: true,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return id, docID
}

// doc returns one document of a contract by id.
func (r *rig) doc(contractID, id string) store.Document {
	r.t.Helper()
	c, err := r.ledger.Contract(context.Background(), "default", contractID)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, d := range c.Documents {
		if d.ID == id {
			return d
		}
	}
	r.t.Fatalf("contract %s has no document %s", contractID, id)
	return store.Document{}
}

func settled(d store.Document) bool {
	return d.ArchiveState == store.ArchiveArchived || d.ArchiveState == store.ArchiveFailed
}

// TestValidationMaterialBesideThePDF: a signed PDF is archived with the
// material its verification rests on, a JSON file of its own hash in the
// archive: both signatures' chains and the fake CA's OCSP and CRL answers
// (good); it re-shows with no network once the fake is gone. A revoked
// signer and an unreachable CA are recorded as such, the PDF archived all
// the same.
func TestValidationMaterialBesideThePDF(t *testing.T) {
	for name, tc := range map[string]struct {
		setup func(*qystest.Server)
		want  string
	}{
		"Good":        {func(*qystest.Server) {}, pdfverify.StatusGood},
		"Revoked":     {func(s *qystest.Server) { s.RevokeSigner("Alpha Co") }, pdfverify.StatusRevoked},
		"Unreachable": {func(s *qystest.Server) { s.SetRevocationUnreachable(true) }, pdfverify.StatusUnreachable},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, testdb.Open(t, testdb.SQLite))
			id, docID := r.commitSigned()
			tc.setup(r.fake)
			start(t, r.options(r.ledger))
			eventually(t, "document archived", func() bool { return r.doc(id, docID).ArchiveState == store.ArchiveArchived })
			d := r.doc(id, docID)
			if d.VerifyVerdict != "valid" || d.VerifySignatures != 2 || d.ValidationStatus != tc.want ||
				d.ValidationPath == "" || fileSHA(t, r.dir, d.ValidationPath) != d.ValidationSHA256 {
				t.Fatalf("document %+v: want valid (2) with material, status %s", d, tc.want)
			}
			b, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(d.ValidationPath)))
			if err != nil {
				t.Fatal(err)
			}
			var v pdfverify.ValidationData
			if err := json.Unmarshal(b, &v); err != nil || len(v.Signatures) != 2 {
				t.Fatalf("material: %v, %d signatures", err, len(v.Signatures))
			}
			r.fake.Close()
			if problems, worst := v.Reshow(); len(problems) > 0 || worst != tc.want {
				t.Errorf("Reshow offline: %v, worst %s, want %s", problems, worst, tc.want)
			}
			vs, err := r.ledger.DocumentVersions(context.Background(), "default", docID)
			if err != nil || len(vs) != 1 || vs[0].ValidationSHA256 != d.ValidationSHA256 {
				t.Errorf("versions %+v, %v", vs, err)
			}
		})
	}
}

// TestItemsArchivedOrRefused: attachments and the 存证报告 are archived as
// the platform's zips; a 存证报告 the tenant has not enabled and forced-end
// attachments that do not exist are archived after one attempt as the
// platform's refusal, its answer verbatim.
func TestItemsArchivedOrRefused(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	all := []string{qystest.ItemAttachment, qystest.ItemNotary, qystest.ItemEndSignAttachment}
	served, _ := r.commitSigned(all...)
	if err := r.fake.AddAttachment(served, "annex.txt", []byte("annex one")); err != nil {
		t.Fatal(err)
	}
	start(t, r.options(r.ledger))
	for _, it := range all[:2] {
		id := served + store.ItemInfix + it
		eventually(t, it+" settled", func() bool { return settled(r.doc(served, id)) })
		d := r.doc(served, id)
		if d.ArchiveState != store.ArchiveArchived || fileSHA(t, r.dir, d.Path) != d.SHA256 {
			t.Fatalf("%s: %+v", it, d)
		}
		names := zipNames(t, filepath.Join(r.dir, filepath.FromSlash(d.Path)))
		want := map[string]string{qystest.ItemAttachment: "annex.txt", qystest.ItemNotary: qystest.NotaryReportName}[it]
		if len(names) != 1 || names[0] != want {
			t.Errorf("%s zip holds %v, want %s", it, names, want)
		}
	}
	end := served + store.ItemInfix + qystest.ItemEndSignAttachment
	eventually(t, "forced-end attachments settled", func() bool { return settled(r.doc(served, end)) })
	checkRefused(t, r, r.doc(served, end), 1100101, "没有可下载的文件")

	r.fake.SetNotaryEnabled(false)
	refused, _ := r.commitSigned(qystest.ItemNotary)
	id := refused + store.ItemInfix + qystest.ItemNotary
	eventually(t, "notary settled", func() bool { return settled(r.doc(refused, id)) })
	checkRefused(t, r, r.doc(refused, id), 1100102, "存证报告服务未开通")
}

func checkRefused(t *testing.T, r *rig, d store.Document, code int, message string) {
	t.Helper()
	if d.ArchiveState != store.ArchiveArchived || d.Attempts != 0 || !strings.HasSuffix(d.Path, ".json") ||
		fileSHA(t, r.dir, d.Path) != d.SHA256 {
		t.Fatalf("%s: %+v, want archived at once as a JSON record", d.ID, d)
	}
	b, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(d.Path)))
	if err != nil {
		t.Fatal(err)
	}
	var rec archiver.Refusal
	if err := json.Unmarshal(b, &rec); err != nil || !rec.Refused || rec.Code != code || rec.Path != "/v2/contract/download" ||
		rec.ContractID != d.ContractID || rec.AnsweredAt.IsZero() {
		t.Fatalf("%s: record %s (%v)", d.ID, b, err)
	}
	var answer struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(rec.Answer, &answer); err != nil || answer.Code != code || answer.Message != message {
		t.Errorf("%s: the answer kept is %s, want code %d %q", d.ID, rec.Answer, code, message)
	}
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}
