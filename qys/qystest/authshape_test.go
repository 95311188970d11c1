package qystest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// rawSink records callbacks as they arrive, without verifying them, and
// answers success.
type rawSink struct {
	*httptest.Server
	mu   sync.Mutex
	got  []url.Values
	path []string
}

func newRawSink(tb testing.TB) *rawSink {
	s := &rawSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "not a form", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got, s.path = append(s.got, form), append(s.path, r.URL.Path)
		s.mu.Unlock()
		_, _ = io.WriteString(w, "success")
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *rawSink) forms(tb testing.TB, n int) []url.Values {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) != n {
		tb.Fatalf("received %d callbacks (%v), want %d", len(s.got), s.path, n)
	}
	return s.got
}

// TestAuthShapeSaaS: the SaaS-mode company certification as seen in real
// traffic: signed, encrypted, numbers for status and actionEvent,
// top-level requestId, companyId, companyName, legalPerson, registerNo
// and no authInfo.
func TestAuthShapeSaaS(t *testing.T) {
	sink := newRawSink(t)
	srv := MustServer(t)
	sender := qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true}
	srv.SetCallbackTarget(qystest.CallbackTarget{CompanyAuthURL: sink.URL + "/company", Sender: sender,
		AuthShape: qystest.AuthShapeSaaS})
	srv.CompleteCompanyAuth("2422042838839468999", "某某科技有限公司", true)
	waitIdle(t, srv)
	f := sink.forms(t, 1)[0]
	if f.Get("signature") != qys.Sign(f.Get("timestamp"), cbSecret) || f.Get("content") == "" {
		t.Fatalf("form = %v, want signed encrypted content", f)
	}
	plain, err := qys.Decrypt(qys.CipherECB, cbSecret, nil, f.Get("content"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(plain))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m["status"] != json.Number("1") || m["actionEvent"] != json.Number("7") {
		t.Errorf("status %#v actionEvent %#v, want JSON numbers 1 and 7", m["status"], m["actionEvent"])
	}
	for _, k := range []string{"requestId", "companyId", "companyName", "legalPerson", "registerNo"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("%s missing or not a string: %s", k, plain)
		}
	}
	if m["companyName"] != "某某科技有限公司" || m["authInfo"] != nil {
		t.Errorf("payload %s", plain)
	}

	t.Run("Failed", func(t *testing.T) {
		srv.CompleteCompanyAuth("2422042838839468998", "某某科技有限公司", false)
		waitIdle(t, srv)
		plain, _ := qys.Decrypt(qys.CipherECB, cbSecret, nil, sink.forms(t, 2)[1].Get("content"))
		if !bytes.Contains(plain, []byte(`"status":2`)) {
			t.Errorf("failed certification payload %s, want status 2", plain)
		}
	})
}

// TestAuthShapeDirect: direct (non-SaaS) mode sends certification results
// as plain form fields, without content, signature or timestamp, even when
// contract callbacks are encrypted and signed.
func TestAuthShapeDirect(t *testing.T) {
	sink := newRawSink(t)
	srv := MustServer(t)
	sender := qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true}
	srv.SetCallbackTarget(qystest.CallbackTarget{ContractURL: sink.URL + "/contract", CompanyAuthURL: sink.URL + "/company",
		PersonalAuthURL: sink.URL + "/personal", Sender: sender, AuthShape: qystest.AuthShapeDirect})
	srv.CompleteCompanyAuth("req-1", "某某科技有限公司", true)
	srv.CompletePersonalAuth("auth-1", "FACE", "2")
	id := MustContract(t, srv, nil)
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, srv)
	forms := sink.forms(t, 3)
	company, personal, contract := forms[0], forms[1], forms[2]
	for _, f := range []url.Values{company, personal} {
		if f.Has("signature") || f.Has("timestamp") || f.Has("content") {
			t.Errorf("certification form %v carries signature, timestamp or content", f)
		}
	}
	if company.Get("requestId") != "req-1" || company.Get("status") != "1" {
		t.Errorf("company form %v", company)
	}
	if personal.Get("authId") != "auth-1" || personal.Get("status") != "2" || personal.Get("mode") != "FACE" {
		t.Errorf("personal form %v", personal)
	}
	if contract.Get("content") == "" || contract.Get("signature") == "" {
		t.Errorf("contract callback %v, want it encrypted and signed as before", contract)
	}
}
