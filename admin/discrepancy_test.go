package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/store"
)

// TestDocumentDiscrepanciesAndValidation: the contract view carries a
// document's validation material and its discrepancies; operators see the
// party and the detail, viewers the party masked and no detail; a
// document never compared shows compared false and no list.
func TestDocumentDiscrepanciesAndValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	MustApply(t, f.ledger, "default", "c1", "COMPLETE", base)
	now := time.Now().UTC().Truncate(time.Second)
	for _, d := range []store.Document{
		{ID: "c1-d1", ContractID: "c1", Title: "合同正文", SHA256: strings.Repeat("ab", 32), Size: 10, Path: "documents/x.pdf",
			FetchedAt: &now, VerifyVerdict: "valid", VerifySignatures: 1, VerifiedAt: &now,
			ValidationSHA256: strings.Repeat("cd", 32), ValidationPath: "documents/y.json", ValidationStatus: "unreachable",
			Discrepancies: `[{"kind":"missing_signature","document":"c1-d1","party":"乙公司","detail":"the API says 乙公司 signed"}]`},
		{ID: "c1.oplog", ContractID: "c1", Title: "operation log", SHA256: strings.Repeat("ef", 32), Size: 2, Path: "documents/z.json", FetchedAt: &now},
	} {
		if _, err := f.ledger.ArchiveDocument(ctx, "default", d, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, token, party, detail string
	}{
		{"Operator", operatorToken, "乙公司", "the API says 乙公司 signed"},
		{"Viewer", viewerToken, "乙**", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c adminapi.ContractDetail
			if st := f.get(t, tc.token, "/contracts/default/c1", &c); st != http.StatusOK || len(c.Documents) != 2 {
				t.Fatalf("status %d, documents %+v", st, c.Documents)
			}
			var pdf, log adminapi.Document
			for _, d := range c.Documents {
				if d.ID == "c1-d1" {
					pdf = d
				} else {
					log = d
				}
			}
			if !pdf.Compared || len(pdf.Discrepancies) != 1 || pdf.ValidationStatus != "unreachable" ||
				pdf.ValidationPath != "documents/y.json" || pdf.ValidationSHA256 != strings.Repeat("cd", 32) {
				t.Fatalf("pdf %+v", pdf)
			}
			x := pdf.Discrepancies[0]
			if x.Kind != "missing_signature" || x.Document != "c1-d1" || x.Party != tc.party || x.Detail != tc.detail {
				t.Errorf("discrepancy %+v, want party %q detail %q", x, tc.party, tc.detail)
			}
			if log.Compared || log.Discrepancies != nil {
				t.Errorf("the operation log shows a comparison: %+v", log)
			}
		})
	}
}
