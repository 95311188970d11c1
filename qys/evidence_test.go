package qys_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

func evidenceServer(t *testing.T) (*qystest.Server, *qys.Client) {
	t.Helper()
	srv := qystest.NewServer()
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// completed adds a contract signed by two companies and returns its id
// and its document's id.
func completed(t *testing.T, srv *qystest.Server) (string, string) {
	t.Helper()
	id := srv.AddContract(qystest.ContractSpec{Subject: "NDA", TenantName: "发起方有限公司", BizID: "biz-ev",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantCompany, TenantName: "乙公司"},
		}})
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := srv.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	ct, _ := srv.Contract(id)
	return id, ct.Documents[0].ID.String()
}

func TestContractStream(t *testing.T) {
	srv, c := evidenceServer(t)
	id, _ := completed(t, srv)
	ctx := context.Background()
	log, err := c.ContractStream(ctx, qys.StreamQuery{ContractID: id})
	if err != nil {
		t.Fatal(err)
	}
	if log.TotalCount != len(log.Records) || len(log.Records) < 4 || len(log.Raw) == 0 {
		t.Fatalf("log: total %d, %d records, raw %d bytes", log.TotalCount, len(log.Records), len(log.Raw))
	}
	last := log.Records[len(log.Records)-1]
	if last.Operation != qys.OperationModify || !strings.Contains(last.Description, "合同完成") || last.OperateTime == "" || len(last.Raw) == 0 {
		t.Errorf("last record %+v", last)
	}
	byBiz, err := c.ContractStream(ctx, qys.StreamQuery{BizID: "biz-ev", Operations: []string{qys.OperationView}})
	if err != nil || byBiz.TotalCount != 0 {
		t.Fatalf("VIEW only: %+v %v", byBiz, err)
	}
	reqs := srv.Requests()
	if q := reqs[len(reqs)-1].Query; q.Get("operation") != "VIEW" || q.Get("bizId") != "biz-ev" {
		t.Errorf("query sent: %v", q)
	}
	if _, err := c.ContractStream(ctx, qys.StreamQuery{}); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("no selector: %v", err)
	}
	if _, err := c.ContractStream(ctx, qys.StreamQuery{ContractID: id, Operations: []string{"EAT"}}); !errors.Is(err, qys.ErrInvalidParam) {
		t.Errorf("unknown operation: %v", err)
	}
	if _, err := c.ContractStream(ctx, qys.StreamQuery{ContractID: "404"}); !errors.Is(err, qys.ErrNotFound) {
		t.Errorf("unknown contract: %v", err)
	}
}

func TestVerifyFileThroughPlatform(t *testing.T) {
	srv, c := evidenceServer(t)
	_, doc := completed(t, srv)
	signed, _ := io.ReadAll(srv.DocumentContent(doc))
	ctx := context.Background()

	// The first attempt meets a gateway 503: the retry must resend the file.
	srv.FailNext(1, http.StatusServiceUnavailable)
	v, err := c.VerifyFile(ctx, "合同.pdf", bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || len(v.Signatures) != 2 || len(v.Raw) == 0 {
		t.Fatalf("signed: %+v", v)
	}
	for _, s := range v.Signatures {
		if !s.Valid || s.Modified || s.SignTime == "" || (s.Signer != "甲公司" && s.Signer != "乙公司") {
			t.Errorf("signature %+v", s)
		}
	}
	var posts int
	for _, r := range srv.Requests() {
		if r.Path == qys.PathFileVerify {
			posts++
			if r.Method != http.MethodPost || r.Header.Get("x-qys-open-signature") == "" {
				t.Errorf("request %s %s without signature headers", r.Method, r.Path)
			}
		}
	}
	if posts != 2 {
		t.Errorf("want 2 POSTs (503 then success), got %d", posts)
	}

	tampered := srv.TamperedContent(doc)
	v, err = c.VerifyFile(ctx, "t.pdf", bytes.NewReader(tampered), int64(len(tampered)))
	if err != nil {
		t.Fatal(err)
	}
	if v.Valid {
		t.Fatalf("tampered file judged valid: %+v", v)
	}
	if _, err := c.VerifyFile(ctx, "x.txt", strings.NewReader("hello"), 5); !errors.Is(err, qys.ErrInvalidParam) {
		t.Errorf("not a PDF: %v", err)
	}
	if _, err := c.VerifyFile(ctx, "x.pdf", nil, 0); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("empty file: %v", err)
	}
}

func TestCompanyAuthResult(t *testing.T) {
	srv, c := evidenceServer(t)
	ctx := context.Background()
	srv.CompleteCompanyAuth("req-1", "甲公司", true)
	srv.SetCompanyAuth(qystest.CompanyAuth{RequestID: "req-2", CompanyName: "乙公司", Status: qys.AuthStatusInProgress})

	r, err := c.CompanyAuthResult(ctx, qys.CompanyAuthQuery{RequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	// The documented answer: status 2 is 通过 (passed), not the
	// callback's 2 (failed).
	if r.Status != "2" || r.Reading.State != lifecycle.CertSuccess || r.Reading.Shape != qys.AuthShapeDocumented ||
		r.CompanyName != "甲公司" || r.AuthEndTime == "" || len(r.Raw) == 0 {
		t.Errorf("req-1: %+v", r)
	}
	r, err = c.CompanyAuthResult(ctx, qys.CompanyAuthQuery{CompanyName: "乙公司"})
	if err != nil || r.Status != "4" || r.Reading.State != lifecycle.CertInProgress {
		t.Errorf("by name: %+v %v", r, err)
	}
	var ae *qys.APIError
	if _, err := c.CompanyAuthResult(ctx, qys.CompanyAuthQuery{RequestID: "nope"}); !errors.Is(err, qys.ErrNotFound) ||
		!errors.As(err, &ae) || ae.Code != 1604 {
		t.Errorf("unknown: %v", err)
	}
	if _, err := c.CompanyAuthResult(ctx, qys.CompanyAuthQuery{}); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("empty query: %v", err)
	}
	reqs := srv.Requests()
	if p := reqs[len(reqs)-2].Path; p != qys.PathCompanyAuthResult {
		t.Errorf("path %s", p)
	}

	saas, err := srv.Client(qys.WithSaaSAuthPaths("", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := saas.CompanyAuthResult(ctx, qys.CompanyAuthQuery{RequestID: "req-1"}); err != nil {
		t.Fatal(err)
	}
	reqs = srv.Requests()
	if p := reqs[len(reqs)-1].Path; p != qys.DefaultSaaSCompanyAuthResult {
		t.Errorf("SaaS path %s", p)
	}
	if _, err := srv.Client(qys.WithSaaSAuthPaths("saas/x", "")); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("relative SaaS path: %v", err)
	}
}

func TestPersonalAuthResult(t *testing.T) {
	srv, c := evidenceServer(t)
	ctx := context.Background()
	srv.SetPersonalAuth(qystest.PersonalAuth{AuthID: "a-1", Contact: "13800000000", ContactType: qys.ContactMobile,
		Mode: "FACE", Status: qys.AuthStatusInProgress})
	srv.CompletePersonalAuth("a-1", "FACE", qys.AuthStatusSuccess)

	r, err := c.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: "a-1"})
	if err != nil || r.RealName == nil || !*r.RealName || r.Reading.State != lifecycle.CertSuccess || r.Mode != "FACE" || len(r.Raw) == 0 {
		t.Fatalf("by id: %+v %v", r, err)
	}
	r, err = c.PersonalAuthResult(ctx, qys.PersonalAuthQuery{Contact: "13800000000", ContactType: qys.ContactMobile})
	if err != nil || r.Reading.State != lifecycle.CertSuccess {
		t.Fatalf("by contact: %+v %v", r, err)
	}
	var ae *qys.APIError
	if _, err := c.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: "none"}); !errors.As(err, &ae) || ae.Code != 1604 {
		t.Errorf("unknown authId: %v, want code 1604", err)
	}
	// 1604 is not found even when the client's not-found codes were
	// replaced.
	narrow, _ := srv.Client(qys.WithNotFoundCodes(1))
	if _, err := narrow.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: "none"}); !errors.Is(err, qys.ErrNotFound) {
		t.Errorf("unknown authId with other not-found codes: %v", err)
	}
	if _, err := c.PersonalAuthResult(ctx, qys.PersonalAuthQuery{Contact: "x@y.z", ContactType: "FAX"}); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("bad contact type: %v", err)
	}
	if _, err := c.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: "none"}); !errors.Is(err, qys.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	saas, _ := srv.Client(qys.WithSaaSAuthPaths("", "/saas/v2/personalauth/result"))
	if _, err := saas.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: "a-1"}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if p := reqs[len(reqs)-1].Path; p != qys.DefaultSaaSPersonalAuthResult {
		t.Errorf("SaaS path %s", p)
	}
}

func TestEvidenceCallsPrivateCloud(t *testing.T) {
	srv := qystest.NewServer(qystest.WithPrivateCloud())
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	id, doc := completed(t, srv)
	ctx := context.Background()
	if _, err := c.ContractStream(ctx, qys.StreamQuery{ContractID: id}); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(srv.DocumentContent(doc))
	if v, err := c.VerifyFile(ctx, "a.pdf", bytes.NewReader(b), int64(len(b))); err != nil || !v.Valid {
		t.Fatalf("verify: %+v %v", v, err)
	}
	srv.CompleteCompanyAuth("r-1", "甲公司", false)
	if r, err := c.CompanyAuthResult(ctx, qys.CompanyAuthQuery{RequestID: "r-1"}); err != nil || r.Reading.State != lifecycle.CertFailed {
		t.Fatalf("company: %+v %v", r, err)
	}
	var paths []string
	for _, r := range srv.Requests() {
		paths = append(paths, r.Path)
	}
	want := []string{"/contract/stream", "/verify", "/companyauth/result"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("paths %v, want %v", paths, want)
	}
}
