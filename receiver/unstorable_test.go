package receiver_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// TestUnstorableValuesRefused (issue 11): an authentic callback holding a
// value the ledger cannot store (a NUL byte or invalid UTF-8 in a text
// field, an over-long id) used to be answered 200 and then redelivered for
// ever by the dispatcher. It is refused with 400 invalid_value, counted,
// and nothing is stored.
func TestUnstorableValuesRefused(t *testing.T) {
	h := newHarness(t, nil)
	contract := func(mutate func(p map[string]any)) callbackCase {
		tc := baselineCase()
		p := contractPayload("3121362688614077231", "SEAL", "SIGNING")
		mutate(p)
		tc.payload = p
		refused(http.StatusBadRequest, "invalid_value")(&tc)
		return tc
	}
	plainAuth := func(field, value, code string) callbackCase {
		// Certification callbacks are accepted unsigned and plain by
		// default (format A): form fields, which may hold any bytes.
		tc := baselineCase()
		form := url.Values{"authId": {"p-1"}, "mode": {"FACE"}, "status": {"1"}, "name": {"张三"}}
		form.Set(field, value)
		tc.path, tc.body = "/callbacks/acme/auth/personal", []byte(form.Encode())
		refused(http.StatusBadRequest, code)(&tc)
		return tc
	}
	cases := map[string]callbackCase{
		"NULInContractId":    contract(func(p map[string]any) { p["contractId"] = "3121362688\x00614077231" }),
		"NULInCallbackType":  contract(func(p map[string]any) { p["callbackType"] = "SEAL\x00" }),
		"NULInStatus":        contract(func(p map[string]any) { p["contractStatus"] = "SIGN\x00ING" }),
		"NULInBusinessData":  contract(func(p map[string]any) { p["businessData"] = "order\x0042" }),
		"NULInTenantName":    contract(func(p map[string]any) { p["tenantName"] = "某某\x00科技" }),
		"NULInContact":       contract(func(p map[string]any) { p["contact"] = "\x00" }),
		"OverLongContractId": contract(func(p map[string]any) { p["contractId"] = strings.Repeat("9", qys.MaxIDLength+1) }),
		// Invalid UTF-8 in form fields is already refused by the parser.
		"InvalidUTF8AuthName":  plainAuth("name", "张\xff三", "invalid_content"),
		"NULInAuthId":          plainAuth("authId", "p\x001", "invalid_value"),
		"InvalidUTF8AuthMode":  plainAuth("mode", "\xc3", "invalid_content"),
		"NULInAuthRejectReasn": plainAuth("rejectReason", "no\x00", "invalid_value"),
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := streamMsgs(t, h.nats)
			got := h.send(t, tc)
			if got.status != tc.wantStatus || !strings.Contains(got.body, tc.wantBody) {
				t.Fatalf("answer %d %q, want %d %q", got.status, got.body, tc.wantStatus, tc.wantBody)
			}
			if n := streamMsgs(t, h.nats) - before; n != 0 {
				t.Fatalf("stored %d messages", n)
			}
		})
	}
	m := h.get(t, "/metrics")
	want := strconv.Itoa(len(cases) - 4) // the contract cases
	if !contains(m.body, `qyshook_receiver_requests_total{outcome="invalid_value",route="contract",tenant="acme"} `+want,
		`qyshook_receiver_requests_total{outcome="invalid_value",route="auth_personal",tenant="acme"} 2`,
		`qyshook_receiver_verification_failures_total{reason="invalid_value",tenant="acme"} `+strconv.Itoa(len(cases)-2)) {
		t.Fatalf("metrics:\n%s", m.body)
	}
	if strings.Contains(h.logs.String(), "\\u0000") || strings.Contains(h.logs.String(), "某某") {
		t.Fatalf("the refusal logged the callback's content:\n%s", h.logs.String())
	}

	// The same fields without the offending bytes are stored.
	ok := baselineCase()
	ok.payload = contractPayload("3121362688614077999", "SEAL", "SIGNING")
	ok.ts = time.Now()
	if got := h.send(t, ok); got.status != http.StatusOK {
		t.Fatalf("clean callback answered %d %q", got.status, got.body)
	}
}
