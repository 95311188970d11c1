package dispatcher_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// addPDFContract adds a contract whose two documents are real PDFs (the
// fake signs them when the contract completes).
func addPDFContract(h *stagetest.Harness) string {
	return h.Fake.AddContract(qystest.ContractSpec{
		Subject: "采购合同", Status: lifecycle.Draft,
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲方科技有限公司", Contact: "13800000000"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13900000000"},
		},
		Documents: []qystest.DocumentSpec{{Title: "合同正文"}, {Title: "附件"}},
	})
}

// TestArchiveKeepsOperationLogAndVerifies: a completed contract's
// operation log is archived next to its PDFs (the pseudo-document
// <id>.oplog, the /v2/contract/stream result as sent), and every archived
// PDF is verified with its verdict recorded: valid for the signed files,
// invalid for one the platform served tampered; the online check
// (/v2/verify) runs when the tenant enables it.
func TestArchiveKeepsOperationLogAndVerifies(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Config.ArchiveOperationLog = true
	h.Archive.VerifyOnline = map[string]bool{"default": true}
	id := addPDFContract(h)
	if err := h.Fake.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // signed through the fake's lifecycle, which signs the PDFs
		if err := h.Fake.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	h.Fake.TamperNextDownloads(1)
	h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "documents and log archived", func() bool {
		c := h.Contract(id)
		if c == nil || len(c.Documents) != 3 {
			return false
		}
		for _, d := range c.Documents {
			if d.ArchiveState != store.ArchiveArchived {
				return false
			}
		}
		return true
	})
	var valid, invalid int
	for _, d := range h.Contract(id).Documents {
		if d.ID == id+store.OplogSuffix {
			if !strings.HasSuffix(d.Path, ".json") || d.VerifyVerdict != "" {
				t.Fatalf("oplog document %+v", d)
			}
			b, err := os.ReadFile(filepath.Join(h.DataDir, d.Path))
			if err != nil {
				t.Fatal(err)
			}
			var log struct {
				TotalCount int               `json:"totalCount"`
				List       []json.RawMessage `json:"list"`
			}
			if err := json.Unmarshal(b, &log); err != nil || log.TotalCount == 0 || len(log.List) != log.TotalCount {
				t.Fatalf("oplog file %s: %v", b, err)
			}
			continue
		}
		if d.VerifiedAt == nil {
			t.Fatalf("document %s not verified: %+v", d.ID, d)
		}
		switch d.VerifyVerdict {
		case string(pdfverify.Valid):
			valid++
			if d.VerifySignatures == 0 || d.VerifyProblem != "" {
				t.Fatalf("valid document %+v", d)
			}
		case string(pdfverify.Invalid):
			invalid++
			if d.VerifyProblem == "" {
				t.Fatalf("invalid document without a problem: %+v", d)
			}
		default:
			t.Fatalf("document %s verdict %q", d.ID, d.VerifyVerdict)
		}
	}
	if valid != 1 || invalid != 1 {
		t.Fatalf("%d valid and %d invalid, want one of each (one download was tampered)", valid, invalid)
	}
	verifies := 0
	for _, r := range h.Fake.Requests() {
		if r.Path == qys.PathFileVerify {
			verifies++
		}
	}
	if verifies == 0 {
		t.Fatal("the online check was enabled but /v2/verify was never called")
	}
}

// TestOnlineVerificationOnlyWhenEnabled: without the tenant setting no
// archived PDF leaves for /v2/verify; the offline verdict is recorded.
func TestOnlineVerificationOnlyWhenEnabled(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	id := addPDFContract(h)
	if err := h.Fake.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := h.Fake.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "documents verified", func() bool {
		c := h.Contract(id)
		if c == nil || len(c.Documents) != 2 {
			return false
		}
		for _, d := range c.Documents {
			if d.VerifyVerdict != string(pdfverify.Valid) {
				return false
			}
		}
		return true
	})
	for _, r := range h.Fake.Requests() {
		if r.Path == qys.PathFileVerify {
			t.Fatal("/v2/verify called although the tenant did not enable the online check")
		}
	}
}
