package qystest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestPersonalCertificationCarriesContact: a personal certification the
// fake completes (as `qyshook sim trigger auth-personal` does) is found by
// its contact, and format B sends that contact as userMobile.
func TestPersonalCertificationCarriesContact(t *testing.T) {
	srv := MustServer(t)
	c := MustClient(t, srv)
	res, err := srv.Trigger(context.Background(), "auth-personal", "person-7")
	if err != nil {
		t.Fatal(err)
	}
	if res.Contact == "" || res.Contact != qystest.MobileFor("person-7") || len(res.Contact) != 11 {
		t.Fatalf("trigger contact %q", res.Contact)
	}
	r, err := c.PersonalAuthResult(context.Background(), qys.PersonalAuthQuery{Contact: res.Contact, ContactType: qys.ContactMobile})
	// The documented answer names no authId: it says realName.
	if err != nil || r.Reading.State != lifecycle.CertSuccess {
		t.Fatalf("by contact: %+v %v", r, err)
	}
}

// recorder is a callback endpoint that answers each kind as qyshook does
// and keeps what it received.
type recorder struct {
	mu   sync.Mutex
	got  []*http.Request
	body []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	rc.mu.Lock()
	rc.got = append(rc.got, r)
	rc.body = append(rc.body, r.PostForm.Encode())
	rc.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/seal-audit"):
		_, _ = w.Write([]byte(`{"responseCode":"00000000"}`))
	case strings.Contains(r.URL.Path, "/notify/"), strings.Contains(r.URL.Path, "/auth/"):
		_, _ = w.Write([]byte(`{"code":0}`))
	default:
		_, _ = w.Write([]byte("success"))
	}
}

// TestSendsEveryKind: the fake sends every documented contract type, the
// format-B certification types and each notice, to the right URL, and
// counts each accepted on its first attempt.
func TestSendsEveryKind(t *testing.T) {
	rec := &recorder{}
	hs := httptest.NewServer(rec)
	defer hs.Close()
	srv := MustServer(t)
	srv.SetCallbackTarget(qystest.CallbackTarget{ContractURL: hs.URL + "/contract", NoticeURL: hs.URL + "/notify/",
		Sender: qys.SenderConfig{Secret: "0123456789abcdef", Encrypt: true}})
	id := MustContract(t, srv, nil)
	if len(qystest.ContractCallbackTypes) != 20 {
		t.Fatalf("%d contract types, want the 20 documented", len(qystest.ContractCallbackTypes))
	}
	for _, typ := range qystest.ContractCallbackTypes {
		if err := srv.SendContractCallback(id, typ); err != nil {
			t.Fatal(err)
		}
	}
	notices := 0
	for _, kind := range qys.NoticeKinds {
		for _, typ := range qystest.NoticeTypes[kind] {
			if _, err := srv.SendNotice(kind, typ, ""); err != nil {
				t.Fatal(err)
			}
			notices++
		}
	}
	if err := srv.WaitIdle(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	ds := srv.Deliveries()
	if len(ds) != 20+notices {
		t.Fatalf("%d deliveries, want %d", len(ds), 20+notices)
	}
	for _, d := range ds {
		if !d.OK || d.Attempt != 1 {
			t.Fatalf("%s %s: %+v", d.Kind, d.CallbackType, d)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, r := range rec.got {
		switch {
		case strings.HasSuffix(r.URL.Path, "/notify/personal-sign-auth"):
			if r.URL.Query().Get("signature") == "" || strings.Contains(rec.body[i], "signature=") {
				t.Errorf("signing authorisation: signature not in the URL: %s ? %s", r.URL.RawQuery, rec.body[i])
			}
		case strings.HasSuffix(r.URL.Path, "/notify/physical-seal"):
			if strings.Contains(rec.body[i], "signature=") || strings.Contains(rec.body[i], "content=") || !strings.Contains(rec.body[i], "businessId=") {
				t.Errorf("physical seal not plain unsigned fields: %s", rec.body[i])
			}
		}
	}
	if err := srv.SendContractCallback("nope", "SEAL"); !errors.Is(err, qystest.ErrUnknownContract) {
		t.Errorf("unknown contract: %v", err)
	}
	if _, err := srv.SendNotice(qys.KindContract, "X", ""); !errors.Is(err, qystest.ErrInvalidState) {
		t.Errorf("contract as a notice: %v", err)
	}
	if err := srv.SendCertificationCallbackB(qystest.CallbackUserAuthExpired, "1"); !errors.Is(err, qystest.ErrInvalidState) {
		t.Errorf("format-B certification to a format-A target: %v", err)
	}
}
