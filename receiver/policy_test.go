package receiver_test

import (
	"net/url"
	"testing"
)

// The direct-mode (public cloud, non-SaaS) certification callback: plain
// form fields, no signature, no timestamp (docs/qys-protocol.md §7).
func TestDirectModeCertificationAcceptedByDefault(t *testing.T) {
	h := newHarness(t, nil)
	for path, form := range map[string]url.Values{
		"/callbacks/acme/auth/company":  {"requestId": {"c-direct"}, "status": {"1"}},
		"/callbacks/acme/auth/personal": {"authId": {"p-direct"}, "status": {"1"}},
	} {
		got := h.post(t, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
		if got.status != 200 || got.body != `{"code":0,"message":"SUCCESS"}` {
			t.Errorf("%s: %d %q, want 200 and the JSON answer", path, got.status, got.body)
		}
	}
	// The contract route stays strict.
	got := h.post(t, "/callbacks/acme/contract", "application/x-www-form-urlencoded",
		[]byte(url.Values{"contractId": {"1"}, "callbackType": {"CONTRACT_COMPLETE"}}.Encode()))
	if got.status != 401 {
		t.Errorf("unsigned plain contract callback: %d %q, want 401", got.status, got.body)
	}
}
