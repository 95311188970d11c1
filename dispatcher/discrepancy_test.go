package dispatcher_test

import (
	"encoding/json"
	"testing"

	"github.com/qyshook/qyshook/crosscheck"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestDiscrepanciesRecordedAndPublished: through the whole pipeline
// (callback, detail, archive), each discrepancy the fake produces is
// recorded on the archived PDF's row and published on
// qys.ledger.<tenant>.discrepancy.<kind>; an ordinary contract's PDFs are
// recorded compared and agreeing ("[]") with no discrepancy fact.
func TestDiscrepanciesRecordedAndPublished(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	cases := map[string]struct {
		inject qystest.Discrepancy
		tamper bool
		want   crosscheck.Kind
	}{
		"missing":  {inject: qystest.DiscrepancyMissingSignature, want: crosscheck.MissingSignature},
		"unknown":  {inject: qystest.DiscrepancyUnknownSigner, want: crosscheck.UnknownSigner},
		"late":     {inject: qystest.DiscrepancyLateSignature, want: crosscheck.SignedAfterCompletion},
		"tampered": {tamper: true, want: crosscheck.DocumentInvalid},
		"ordinary": {},
	}
	ids := map[string]string{}
	for name, tc := range cases {
		id := h.Fake.AddContract(qystest.ContractSpec{Subject: name, Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三"},
			{TenantType: qystest.TenantCompany, TenantName: "乙公司"}}})
		if tc.inject != "" {
			if err := h.Fake.InjectDiscrepancy(id, tc.inject); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Fake.Send(id); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := h.Fake.Sign(id, i); err != nil {
				t.Fatal(err)
			}
		}
		ids[name] = id
	}
	h.Start()
	for name, tc := range cases {
		if tc.tamper {
			h.Fake.TamperNextDownloads(1)
		}
		id := ids[name]
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
		var pdf store.Document
		stagetest.Eventually(t, name+" archived", func() bool {
			c := h.Contract(id)
			if c == nil || len(c.Documents) == 0 {
				return false
			}
			for _, d := range c.Documents {
				if d.ArchiveState != store.ArchiveArchived {
					return false
				}
				if d.VerifyVerdict != "" {
					pdf = d
				}
			}
			return pdf.ID != ""
		})
		var found []crosscheck.Discrepancy
		if err := json.Unmarshal([]byte(pdf.Discrepancies), &found); err != nil {
			t.Fatalf("%s: discrepancies %q: %v", name, pdf.Discrepancies, err)
		}
		if tc.want == "" {
			if len(found) != 0 || pdf.Discrepancies != "[]" {
				t.Errorf("%s: false discrepancies %s", name, pdf.Discrepancies)
			}
			continue
		}
		if len(found) != 1 || found[0].Kind != tc.want {
			t.Errorf("%s: discrepancies %s, want one %s", name, pdf.Discrepancies, tc.want)
		}
	}
	published := map[string]string{} // contract → kind
	stagetest.Eventually(t, "discrepancy facts published", func() bool {
		for _, f := range h.Facts() {
			if f.Kind == events.FactKindDiscrepancy && f.Discrepancy != nil {
				published[f.ContractID] = f.Discrepancy.Kind
			}
		}
		return len(published) >= 4
	})
	for name, tc := range cases {
		if got := published[ids[name]]; got != string(tc.want) {
			t.Errorf("%s: published %q, want %q", name, got, tc.want)
		}
	}
}
