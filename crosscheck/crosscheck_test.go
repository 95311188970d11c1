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
