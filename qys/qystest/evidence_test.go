package qystest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// The four evidence endpoints check the auth headers like the others.
func TestEvidenceEndpointsCheckHeaders(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	paths := map[string]string{
		"/v2/contract/stream?contractId=" + id:    http.MethodGet,
		"/companyauth/result?requestId=r":         http.MethodGet,
		"/v2/personalauth/result?authId=a":        http.MethodGet,
		"/saas/v2/companyauth/result?requestId=r": http.MethodGet,
		"/v2/verify": http.MethodPost,
	}
	for p, m := range paths {
		if a := rawDo(t, m, srv.URL+p, http.Header{}); a.Status != 441 || a.Code != qys.CodeMissingHeader {
			t.Errorf("%s %s without headers: %d/%d", m, p, a.Status, a.Code)
		}
		h := signedHeaders(srv.AppToken, "wrong-secret", time.Now(), "n-"+p)
		if a := rawDo(t, m, srv.URL+p, h); a.Code != qys.CodeInvalidToken {
			t.Errorf("%s %s with a bad signature: %d/%d", m, p, a.Status, a.Code)
		}
	}
	h := signedHeaders(srv.AppToken, srv.AppSecret, time.Now(), "n-get-verify")
	if a := rawDo(t, http.MethodGet, srv.URL+"/v2/verify", h); a.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET /v2/verify: %d", a.Status)
	}
	h = signedHeaders(srv.AppToken, srv.AppSecret, time.Now(), "n-post-stream")
	if a := rawDo(t, http.MethodPost, srv.URL+"/v2/contract/stream?contractId="+id, h); a.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST /v2/contract/stream: %d", a.Status)
	}
}

func TestDocumentsAreRealPDFsSignedOnCompletion(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) {
		s.Documents = []qystest.DocumentSpec{{Title: "正文"}, {Title: "big", Size: 1 << 20}}
	})
	ct, _ := srv.Contract(id)
	small, big := ct.Documents[0].ID.String(), ct.Documents[1].ID.String()
	before, _ := io.ReadAll(srv.DocumentContent(small))
	if !bytes.HasPrefix(before, []byte("%PDF-1.")) || !bytes.Contains(before, []byte("/Type /Page")) {
		t.Fatalf("default document is not a PDF: %q", before[:32])
	}
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	_ = srv.Sign(id, 0)
	if srv.DocumentSigned(small) {
		t.Fatal("signed before completion")
	}
	_ = srv.Sign(id, 1)
	if !srv.DocumentSigned(small) || srv.DocumentSigned(big) {
		t.Fatalf("signed: small %v, big %v", srv.DocumentSigned(small), srv.DocumentSigned(big))
	}
	after, _ := io.ReadAll(srv.DocumentContent(small))
	if !bytes.HasPrefix(after, before) || !bytes.Contains(after, []byte("/Adobe.PPKLite")) {
		t.Fatal("signing is not an incremental update with a PPKLite signature")
	}

	// The download serves the signed bytes (and its hash); a tamper fault
	// serves changed bytes of the same length once.
	c := MustClient(t, srv)
	ctx := ctxTimeout(t, 10*time.Second)
	var got bytes.Buffer
	if _, err := c.WriteDocument(ctx, small, &got); err != nil || !bytes.Equal(got.Bytes(), after) {
		t.Fatalf("download: %v", err)
	}
	srv.TamperNextDownloads(1)
	got.Reset()
	if _, err := c.WriteDocument(ctx, small, &got); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got.Bytes(), after) || len(got.Bytes()) != len(after) || !bytes.Equal(got.Bytes(), srv.TamperedContent(small)) {
		t.Fatal("tamper fault did not serve the tampered bytes")
	}
	got.Reset()
	if _, err := c.WriteDocument(context.Background(), small, &got); err != nil || !bytes.Equal(got.Bytes(), after) {
		t.Fatal("tamper fault lasted more than one download")
	}
}
