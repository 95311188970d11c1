package dispatcher_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/qyshook/qyshook/crosscheck"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestDiscrepanciesRecordedAndPublished: through the whole pipeline
// (callback, detail, archive), each discrepancy the fake produces (and a
// callback naming a stranger) is
// recorded on the archived PDF's row and published on
// qys.ledger.<tenant>.discrepancy.<kind>; an ordinary contract's PDFs are
// recorded compared and agreeing ("[]") with no discrepancy fact.
func TestDiscrepanciesRecordedAndPublished(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	cases := map[string]struct {
		inject   qystest.Discrepancy
		tamper   bool
		stranger bool // a SEAL callback naming a stranger arrives first
		want     crosscheck.Kind
	}{
		"stranger": {stranger: true, want: crosscheck.CallbackUnknownParty},
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
		if tc.stranger {
			env := events.Envelope{Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: "SEAL",
				ContractID: id, ContractStatus: lifecycle.Signing, ReceivedAt: time.Now().UTC(), Format: "A",
				Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + id + `","tenantName":"Mallory","contractStatus":"SIGNING"}`)}
			env.ID = events.EventID("default", events.KindContract, id, "SEAL", lifecycle.Signing, "Mallory")
			h.PublishEnvelope(env)
			stagetest.Eventually(t, "the stranger's callback applied", func() bool {
				evs, err := h.Ledger.Events(context.Background(), "default", id)
				return err == nil && len(evs) == 1
			})
		}
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
		return len(published) >= 5
	})
	for name, tc := range cases {
		if got := published[ids[name]]; got != string(tc.want) {
			t.Errorf("%s: published %q, want %q", name, got, tc.want)
		}
	}
}
