package crosscheck_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/qyshook/qyshook/crosscheck"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// compare has the fake complete (and optionally void) a contract of two
// companies and a person, with the given discrepancies, downloads its PDF
// and detail through the open API and compares them.
func compare(t *testing.T, tamper, void bool, kinds ...qystest.Discrepancy) []crosscheck.Discrepancy {
	t.Helper()
	srv := qystest.NewServer()
	t.Cleanup(srv.Close)
	id := srv.AddContract(qystest.ContractSpec{Subject: "采购合同", TenantName: "发起方有限公司",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三"},
			{TenantType: qystest.TenantCompany, TenantName: "乙公司"},
		}})
	if err := srv.InjectDiscrepancy(id, kinds...); err != nil {
		t.Fatal(err)
	}
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := srv.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	if void {
		if err := srv.Invalidate(id); err != nil {
			t.Fatal(err)
		}
	}
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	detail, err := client.ContractDetail(ctx, qys.ContractQuery{ContractID: id})
	if err != nil {
		t.Fatal(err)
	}
	if tamper {
		srv.TamperNextDownloads(1)
	}
	var pdfs []crosscheck.PDF
	for _, d := range detail.Documents {
		var buf bytes.Buffer
		if _, err := client.WriteDocument(ctx, string(d.ID), &buf); err != nil {
			t.Fatal(err)
		}
		res, err := pdfverify.Verify(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()), pdfverify.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pdfs = append(pdfs, crosscheck.PDF{DocumentID: string(d.ID), Result: res})
	}
	return crosscheck.Compare(detail, pdfs, crosscheck.Options{})
}

// TestEachDiscrepancyIsFlagged: each kind the fake can produce is found,
// and only it.
func TestEachDiscrepancyIsFlagged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper bool
		inject qystest.Discrepancy
		want   crosscheck.Kind
		party  string
	}{
		{"MissingSignature", false, qystest.DiscrepancyMissingSignature, crosscheck.MissingSignature, "乙公司"},
		{"UnknownSigner", false, qystest.DiscrepancyUnknownSigner, crosscheck.UnknownSigner, qystest.UnknownSignerName},
		{"SignedAfterCompletion", false, qystest.DiscrepancyLateSignature, crosscheck.SignedAfterCompletion, "乙公司"},
		{"TamperedDownload", true, "", crosscheck.DocumentInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kinds []qystest.Discrepancy
			if tc.inject != "" {
				kinds = append(kinds, tc.inject)
			}
			got := compare(t, tc.tamper, false, kinds...)
			if len(got) != 1 || got[0].Kind != tc.want || got[0].Party != tc.party || got[0].Document == "" || got[0].Detail == "" {
				t.Fatalf("discrepancies %+v, want one %s about %q", got, tc.want, tc.party)
			}
		})
	}
}

// TestOrdinaryLifecyclesHaveNoDiscrepancy: a completed contract and one
// voided after completion (its end time is the void's) show none.
func TestOrdinaryLifecyclesHaveNoDiscrepancy(t *testing.T) {
	for _, void := range []bool{false, true} {
		if got := compare(t, false, void); len(got) != 0 {
			t.Errorf("void %v: false discrepancies %+v", void, got)
		}
	}
}

// TestUnsignedStatusesAreNotCompared: a contract that is not signed is
// not compared (its PDFs carry no signatures by design).
func TestUnsignedStatusesAreNotCompared(t *testing.T) {
	detail := &qys.Contract{Status: "SIGNING", Signatories: []qys.Signatory{{TenantType: "COMPANY", TenantName: "甲公司", Status: "SIGNED"}}}
	res := &pdfverify.Result{Verdict: pdfverify.NoSignatures}
	if got := crosscheck.Compare(detail, []crosscheck.PDF{{DocumentID: "d", Result: res}}, crosscheck.Options{}); len(got) != 0 {
		t.Errorf("%+v", got)
	}
	if got := crosscheck.Compare(nil, nil, crosscheck.Options{}); got != nil {
		t.Errorf("nil detail: %+v", got)
	}
}

// TestCallbackClaims: a per-signatory callback naming a stranger and an
// unsigned end claimed for a signed contract are flagged; the ordinary
// callbacks of a lifecycle (sponsor and signatories, a void) are not.
func TestCallbackClaims(t *testing.T) {
	detail := &qys.Contract{Status: "INVALIDED", TenantName: "发起方", Signatories: []qys.Signatory{
		{TenantType: "COMPANY", TenantName: "甲公司", Status: "SIGNED"}, {TenantType: "PERSONAL", TenantName: "张三", Status: "SIGNED"}}}
	cb := func(id, typ, payload string) crosscheck.Callback {
		return crosscheck.Callback{EventID: id, Type: typ, Payload: []byte(payload)}
	}
	ordinary := []crosscheck.Callback{
		cb("e1", "SEND_SIGNING", `{"contractStatus":"SIGNING","tenantName":"发起方"}`),
		cb("e2", "SEAL", `{"contractStatus":"SIGNING","tenantName":"甲公司"}`),
		cb("e3", "PERSONAL", `{"contractStatus":"COMPLETE","tenantName":"张三"}`),
		cb("e4", "COMPLETE", `{"contractStatus":"COMPLETE"}`),
		cb("e5", "INVALIDED", `{"contractStatus":"INVALIDED"}`),
		cb("e6", "SEAL", `not json`),
	}
	if got := crosscheck.CompareCallbacks(detail, ordinary); len(got) != 0 {
		t.Fatalf("false discrepancies %+v", got)
	}
	bad := append(ordinary,
		cb("e7", "SEAL", `{"contractStatus":"SIGNING","tenantName":"Mallory"}`),
		cb("e8", "REJECTED", `{"contractStatus":"REJECTED","tenantName":"甲公司"}`))
	got := crosscheck.CompareCallbacks(detail, bad)
	if len(got) != 2 || got[0].Kind != crosscheck.CallbackUnknownParty || got[0].Event != "e7" || got[0].Party != "Mallory" ||
		got[1].Kind != crosscheck.CallbackContradicted || got[1].Event != "e8" {
		t.Fatalf("discrepancies %+v", got)
	}
	if crosscheck.CompareCallbacks(&qys.Contract{Status: "REJECTED"}, bad) != nil {
		t.Error("an unsigned contract was compared")
	}
}

// FuzzCompareCallbacks: any payload is read without panicking.
func FuzzCompareCallbacks(f *testing.F) {
	f.Add("SEAL", `{"tenantName":"x","contractStatus":"REJECTED"}`)
	f.Add("REJECTED", `{"tenantName":1}`)
	detail := &qys.Contract{Status: "COMPLETE", Signatories: []qys.Signatory{{TenantName: "甲"}}}
	f.Fuzz(func(t *testing.T, typ, payload string) {
		_ = crosscheck.CompareCallbacks(detail, []crosscheck.Callback{{Type: typ, Payload: []byte(payload)}})
	})
}

// TestUnsignedPDFOfPersonsOnly: a contract signed by persons alone, whose
// PDF carries no signature, is no discrepancy under the default
// SignerTypes (COMPANY: whether a person's signature is a PDF signature
// is not documented, and the fake signs for companies only) — it was
// flagged document_invalid ("no-signatures") under ordinary load. With
// PERSONAL among SignerTypes, or with a company that signed, the
// unsigned PDF is flagged.
func TestUnsignedPDFOfPersonsOnly(t *testing.T) {
	detail := &qys.Contract{Status: "COMPLETE", Signatories: []qys.Signatory{
		{TenantType: "PERSONAL", TenantName: "张三", Status: "SIGNED"}}}
	unsigned := []crosscheck.PDF{{DocumentID: "D1", Result: &pdfverify.Result{Verdict: pdfverify.NoSignatures}}}
	if got := crosscheck.Compare(detail, unsigned, crosscheck.Options{}); len(got) != 0 {
		t.Errorf("persons only, default signer types: %+v", got)
	}
	if got := crosscheck.Compare(detail, unsigned, crosscheck.Options{SignerTypes: []string{"COMPANY", "PERSONAL"}}); len(got) != 1 || got[0].Kind != crosscheck.DocumentInvalid {
		t.Errorf("persons expected to sign: %+v", got)
	}
	// A company among the signatories, even one whose status the detail
	// does not show done (a COMPLETE contract): its signature is expected.
	detail.Signatories = append(detail.Signatories, qys.Signatory{TenantType: "COMPANY", TenantName: "甲公司", Status: "SIGNING"})
	if got := crosscheck.Compare(detail, unsigned, crosscheck.Options{}); len(got) != 1 || got[0].Kind != crosscheck.DocumentInvalid {
		t.Errorf("a company among the signatories: %+v", got)
	}
}
