package qystest_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

const cbSecret = "5f6db7ec8325aAGF"

// receiver is a tiny callback endpoint that verifies with qys.NewVerifier.
type receiver struct {
	*httptest.Server
	v *qys.Verifier

	mu   sync.Mutex
	got  []*qys.Callback
	errs []error
	fail int
}

func newReceiver(tb testing.TB, cfg qys.VerifierConfig) *receiver {
	tb.Helper()
	v, err := qys.NewVerifier(cfg)
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	rc := &receiver{v: v}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	kind := map[string]qys.Kind{"/contract": qys.KindContract, "/personal": qys.KindAuthPersonal,
		"/company": qys.KindAuthCompany}[r.URL.Path]
	body, _ := io.ReadAll(r.Body)
	cb, err := rc.v.Verify(kind, qys.RawRequest{Method: r.Method, ContentType: r.Header.Get("Content-Type"),
		Query: r.URL.Query(), Header: r.Header, Body: body})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.got = append(rc.got, cb)
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	if kind == qys.KindContract {
		_, _ = io.WriteString(w, "success")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"code":0,"message":"SUCCESS"}`)
}

func (rc *receiver) callbacks(tb testing.TB) []*qys.Callback {
	tb.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) > 0 {
		tb.Fatalf("receiver refused callbacks: %v", rc.errs)
	}
	return slices.Clone(rc.got)
}

func (rc *receiver) target(sender qys.SenderConfig) qystest.CallbackTarget {
	return qystest.CallbackTarget{ContractURL: rc.URL + "/contract", PersonalAuthURL: rc.URL + "/personal",
		CompanyAuthURL: rc.URL + "/company", Sender: sender}
}

func summary(cbs []*qys.Callback) string {
	var parts []string
	for _, c := range cbs {
		parts = append(parts, c.CallbackType+"/"+c.ContractStatus)
	}
	return strings.Join(parts, " ")
}

func waitIdle(tb testing.TB, srv *qystest.Server) {
	tb.Helper()
	if err := srv.WaitIdle(ctxTimeout(tb, 10*time.Second)); err != nil {
		tb.Fatalf("WaitIdle: %v", err)
	}
}

func TestLifecycleCallbacks(t *testing.T) {
	iv := []byte("0123456789abcdef")
	tests := []struct {
		name   string
		sender qys.SenderConfig
		verify qys.VerifierConfig
		want   string
	}{
		{"PlainA", qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret},
			qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true},
			"SEND_SIGNING/SIGNING PERSONAL/SIGNING SEAL/COMPLETE COMPLETE/COMPLETE"},
		{"ECB", qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true, Cipher: qys.CipherECB},
			qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, Cipher: qys.CipherECB},
			"SEND_SIGNING/SIGNING PERSONAL/SIGNING SEAL/COMPLETE COMPLETE/COMPLETE"},
		{"CBC", qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true, Cipher: qys.CipherCBC, IV: iv},
			qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, Cipher: qys.CipherCBC, IV: iv},
			"SEND_SIGNING/SIGNING PERSONAL/SIGNING SEAL/COMPLETE COMPLETE/COMPLETE"},
		{"FormatB", qys.SenderConfig{Format: qys.FormatB, Secret: cbSecret, Token: "cb-token"},
			qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{cbSecret}, Token: "cb-token"},
			"CONTRACT_SIGN/SIGNING CONTRACT_SIGN/COMPLETE CONTRACT_COMPLETE/COMPLETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustServer(t)
			rc := newReceiver(t, tt.verify)
			srv.SetCallbackTarget(rc.target(tt.sender))
			id := MustContract(t, srv, nil)
			for _, step := range []func() error{
				func() error { return srv.Send(id) },
				func() error { return srv.Sign(id, 0) },
				func() error { return srv.Sign(id, 1) },
			} {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			waitIdle(t, srv)
			got := rc.callbacks(t)
			if s := summary(got); s != tt.want {
				t.Fatalf("callbacks = %s\nwant        %s", s, tt.want)
			}
			for _, cb := range got {
				if cb.ContractID != id || cb.BusinessData != "bd-42" {
					t.Fatalf("callback %s: contractId %q businessData %q", cb.CallbackType, cb.ContractID, cb.BusinessData)
				}
			}
			if c, _ := srv.Contract(id); c.Status != lifecycle.Complete {
				t.Fatalf("status = %s", c.Status)
			}
		})
	}
}

func TestTerminalCallbacks(t *testing.T) {
	srv := MustServer(t)
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true})
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true}))
	one := func(*qystest.ContractSpec) {}
	a, b, c, d := MustContract(t, srv, one), MustContract(t, srv, one), MustContract(t, srv, one), MustContract(t, srv, one)
	for _, err := range []error{srv.Send(a), srv.Reject(a, 1), srv.Send(b), srv.Recall(b), srv.Send(c), srv.Expire(c),
		srv.Send(d), srv.Sign(d, 0), srv.Sign(d, 1), srv.Invalidate(d)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, srv)
	want := "SEND_SIGNING/SIGNING REJECTED/REJECTED SEND_SIGNING/SIGNING RECALLED/RECALLED " +
		"SEND_SIGNING/SIGNING EXPIRED/EXPIRED SEND_SIGNING/SIGNING PERSONAL/SIGNING SEAL/COMPLETE " +
		"COMPLETE/COMPLETE SEND_INVALID/INVALIDING INVALIDED/INVALIDED"
	got := rc.callbacks(t)
	if s := summary(got); s != want {
		t.Fatalf("callbacks = %s\nwant        %s", s, want)
	}
	if act := got[1].Actor; act == nil || act.TenantName != "某某科技有限公司" || act.TenantType != qystest.TenantCompany {
		t.Fatalf("REJECTED actor = %+v", act)
	}

	t.Run("ErrInvalidState", func(t *testing.T) {
		if err := srv.Sign(a, 0); !errors.Is(err, qystest.ErrInvalidState) {
			t.Fatalf("Sign on REJECTED: %v", err)
		}
		if err := srv.Send("404"); !errors.Is(err, qystest.ErrUnknownContract) {
			t.Fatalf("Send unknown: %v", err)
		}
	})
}

func TestCallbackRetries(t *testing.T) {
	srv := MustServer(t)
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true})
	rc.fail = 2
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true}))
	id := MustContract(t, srv, nil)
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, srv)
	ds := srv.Deliveries()
	if len(ds) != 3 || ds[0].StatusCode != 500 || ds[1].Attempt != 2 || !ds[2].OK || ds[2].Attempt != 3 {
		t.Fatalf("deliveries = %+v", ds)
	}
	if got := rc.callbacks(t); len(got) != 3 || got[2].CallbackType != qystest.CallbackSendSigning {
		t.Fatalf("received %s", summary(got))
	}
}

func TestCallbackGiveUp(t *testing.T) {
	srv := MustServer(t, qystest.WithTimeScale(1e-6))
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true})
	rc.fail = 1000
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret}))
	id := MustContract(t, srv, nil)
	_ = srv.Send(id)
	srv.CompleteCompanyAuth("req-1", "某某科技有限公司", true)
	waitIdle(t, srv)
	var contract, auth int
	for _, d := range srv.Deliveries() {
		if d.Kind == qys.KindContract {
			contract++
		} else {
			auth++
		}
		if d.OK {
			t.Fatalf("delivery OK against a failing receiver: %+v", d)
		}
	}
	ds := srv.Deliveries()
	if contract != 8 || auth != 4 || !ds[len(ds)-1].GaveUp {
		t.Fatalf("contract attempts %d (want 8), auth attempts %d (want 4)", contract, auth)
	}
}

func TestDuplicateCallbacks(t *testing.T) {
	srv := MustServer(t)
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true})
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret}))
	srv.DuplicateCallbacks(2)
	id := MustContract(t, srv, nil)
	_ = srv.Send(id)
	waitIdle(t, srv)
	if s := summary(rc.callbacks(t)); s != "SEND_SIGNING/SIGNING SEND_SIGNING/SIGNING SEND_SIGNING/SIGNING" {
		t.Fatalf("received %s", s)
	}
}

func TestDropCallbacks(t *testing.T) {
	srv := MustServer(t)
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true})
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret}))
	srv.DropCallbacks(true)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) { s.Signatories = s.Signatories[:1] })
	_ = srv.Send(id)
	_ = srv.Sign(id, 0)
	waitIdle(t, srv)
	if n := len(rc.callbacks(t)); n != 0 || srv.Dropped() != 3 {
		t.Fatalf("received %d, dropped %d", n, srv.Dropped())
	}
	if c, _ := srv.Contract(id); c.Status != lifecycle.Complete {
		t.Fatalf("status = %s", c.Status)
	}
}

func TestReorder(t *testing.T) {
	srv := MustServer(t)
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true})
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret}))
	srv.Reorder(qystest.ReorderReverse)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) { s.Signatories = s.Signatories[1:] })
	_ = srv.Send(id)
	_ = srv.Sign(id, 0)
	waitIdle(t, srv) // held callbacks are not pending
	if n := len(rc.callbacks(t)); n != 0 {
		t.Fatalf("received %d before Flush", n)
	}
	if n := srv.Flush(); n != 3 {
		t.Fatalf("Flush = %d", n)
	}
	waitIdle(t, srv)
	if s := summary(rc.callbacks(t)); s != "COMPLETE/COMPLETE SEAL/COMPLETE SEND_SIGNING/SIGNING" {
		t.Fatalf("received %s", s)
	}
}

func TestAuthCallbacks(t *testing.T) {
	for _, tt := range []struct {
		name   string
		sender qys.SenderConfig
		verify qys.VerifierConfig
	}{
		{"FormatA", qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true},
			qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}, AllowPlain: true}},
		{"FormatB", qys.SenderConfig{Format: qys.FormatB, Secret: cbSecret, Token: "t"},
			qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{cbSecret}, Token: "t"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustServer(t)
			rc := newReceiver(t, tt.verify)
			srv.SetCallbackTarget(rc.target(tt.sender))
			srv.CompleteCompanyAuth("2422042838839468999", "某某科技有限公司", true)
			srv.CompletePersonalAuth("3000000000000000001", "FACE", "2")
			waitIdle(t, srv)
			got := rc.callbacks(t)
			if len(got) != 2 || got[0].Kind != qys.KindAuthCompany || got[1].Kind != qys.KindAuthPersonal {
				t.Fatalf("received %d callbacks", len(got))
			}
			if a := got[0].Auth; a == nil || !a.Success || a.RequestID != "2422042838839468999" {
				t.Fatalf("company auth = %+v", a)
			}
			if a := got[1].Auth; a == nil || a.Success || a.RequestID != "3000000000000000001" {
				t.Fatalf("personal auth = %+v", a)
			}
		})
	}
}

func TestSendCheck(t *testing.T) {
	srv := MustServer(t)
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{cbSecret}, Token: "t"})
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatB, Secret: cbSecret, Token: "t"}))
	srv.SendCheck()
	waitIdle(t, srv)
	if got := rc.callbacks(t); len(got) != 1 || !got[0].IsCheck() {
		t.Fatalf("received %s", summary(got))
	}
}

func TestCallbackTimeout(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // lets net/http notice the client going away
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	srv := MustServer(t, qystest.WithRetrySchedule([]time.Duration{}, nil))
	srv.SetCallbackTarget(qystest.CallbackTarget{ContractURL: hang.URL,
		Sender: qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret}, Timeout: 20 * time.Millisecond})
	_ = srv.Send(MustContract(t, srv, nil))
	waitIdle(t, srv)
	ds := srv.Deliveries()
	if len(ds) != 1 || ds[0].Err == nil || !ds[0].GaveUp {
		t.Fatalf("deliveries = %+v", ds)
	}
}
