package qys

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qyshook/qyshook/lifecycle"
)

func validCallback() *Callback {
	return &Callback{
		Kind: KindContract, Format: FormatA, CallbackType: "SEAL", ContractID: "3121362688614077231",
		ContractStatus: lifecycle.Signing, BizID: "biz-1", BusinessData: "order-42",
		Actor:   &Actor{TenantType: "COMPANY", TenantName: "某某科技有限公司", TenantID: "24220428", Contact: "13800000000"},
		Payload: json.RawMessage(`{"contractId":"3121362688614077231"}`),
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*Callback)
		field  string // in the error; "" when valid
	}{
		{name: "OK", modify: func(*Callback) {}},
		{name: "OKAuth", modify: func(c *Callback) {
			c.Kind, c.ContractID, c.Actor = KindAuthCompany, "", nil
			c.Auth = &Auth{RequestID: "r-1", Status: "1", Name: "某某科技", FailReason: "", ActionEvent: "7"}
		}},
		{name: "OKLongBusinessData", modify: func(c *Callback) { c.BusinessData = strings.Repeat("订", 10000) }},
		{name: "OKIdAtTheLimit", modify: func(c *Callback) { c.ContractID = strings.Repeat("9", MaxIDLength) }},
		{name: "ErrNULContractId", modify: func(c *Callback) { c.ContractID = "31\x0021" }, field: "contractId"},
		{name: "ErrNULCallbackType", modify: func(c *Callback) { c.CallbackType = "\x00" }, field: "callbackType"},
		{name: "ErrNULStatus", modify: func(c *Callback) { c.ContractStatus = "A\x00" }, field: "contractStatus"},
		{name: "ErrNULBizId", modify: func(c *Callback) { c.BizID = "b\x00" }, field: "bizId"},
		{name: "ErrNULBusinessData", modify: func(c *Callback) { c.BusinessData = "\x00" }, field: "businessData"},
		{name: "ErrBadUTF8TenantName", modify: func(c *Callback) { c.Actor.TenantName = "\xff" }, field: "tenantName"},
		{name: "ErrNULTenantId", modify: func(c *Callback) { c.Actor.TenantID = "\x00" }, field: "tenantId"},
		{name: "ErrNULContact", modify: func(c *Callback) { c.Actor.Contact = "1\x00" }, field: "contact"},
		{name: "ErrNULTenantType", modify: func(c *Callback) { c.Actor.TenantType = "\x00" }, field: "tenantType"},
		{name: "ErrLongContractId", modify: func(c *Callback) { c.ContractID = strings.Repeat("9", MaxIDLength+1) }, field: "contractId"},
		{name: "ErrLongCallbackType", modify: func(c *Callback) { c.CallbackType = strings.Repeat("A", 3000) }, field: "callbackType"},
		{name: "ErrBadUTF8Payload", modify: func(c *Callback) { c.Payload = json.RawMessage("{\"a\":\"\xc3\"}") }, field: "content"},
		{name: "ErrAuthRequestId", modify: func(c *Callback) { c.Auth = &Auth{RequestID: "r\x00"} }, field: "requestId"},
		{name: "ErrAuthName", modify: func(c *Callback) { c.Auth = &Auth{RequestID: "r", Name: "\xe4\xb8"} }, field: "name"},
		{name: "ErrAuthFailReason", modify: func(c *Callback) { c.Auth = &Auth{RequestID: "r", FailReason: "\x00"} }, field: "rejectReason"},
		{name: "ErrAuthMode", modify: func(c *Callback) { c.Auth = &Auth{RequestID: "r", Mode: "\x00"} }, field: "mode"},
		{name: "ErrAuthStatus", modify: func(c *Callback) { c.Auth = &Auth{RequestID: "r", Status: strings.Repeat("1", 257)} }, field: "status"},
		{name: "ErrAuthActionEvent", modify: func(c *Callback) { c.Auth = &Auth{RequestID: "r", ActionEvent: "\x00"} }, field: "actionEvent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validCallback()
			tc.modify(c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate: %v, want ErrInvalidValue naming %s", err, tc.field)
			}
		})
	}
}

// storable is the oracle of FuzzValidate: what Validate must accept.
func storable(c *Callback) bool {
	ids := []string{c.CallbackType, c.ContractID, c.ContractStatus}
	texts := []string{c.BizID, c.BusinessData, string(c.Payload)}
	if a := c.Actor; a != nil {
		texts = append(texts, a.TenantType, a.TenantName, a.TenantID, a.Contact)
	}
	if a := c.Auth; a != nil {
		ids = append(ids, a.RequestID, a.Status, a.Mode, a.ActionEvent)
		texts = append(texts, a.Name, a.FailReason)
	}
	for _, s := range ids {
		if len(s) > MaxIDLength {
			return false
		}
	}
	for _, s := range append(ids, texts...) {
		if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// checkValidate runs Validate on c and compares it with the oracle; a
// refusal names a field but never quotes it.
func checkValidate(t *testing.T, c *Callback) {
	t.Helper()
	err := c.Validate()
	if want := storable(c); (err == nil) != want {
		t.Fatalf("Validate = %v, storable = %v for %+v", err, want, c)
	}
	if err != nil {
		if !errors.Is(err, ErrInvalidValue) {
			t.Fatalf("Validate error %v does not wrap ErrInvalidValue", err)
		}
		if msg := err.Error(); strings.ContainsRune(msg, 0) || !utf8.ValidString(msg) || len(msg) > 200 {
			t.Fatalf("Validate error quotes the value: %q", msg)
		}
	}
}

// FuzzValidate checks Validate against its oracle on arbitrary fields.
func FuzzValidate(f *testing.F) {
	f.Add("3121362688614077231", "SEAL", "SIGNING", "order-42", "某某科技", "r-1", "张三", `{"a":1}`, false)
	f.Add("31\x0021", "SEAL", "SIGNING", "", "", "", "", `{}`, false)
	f.Add("1", "\xff", "", "", "", "r\x00", "\xe4", "\xc3", true)
	f.Add(strings.Repeat("9", 257), "", "", "", "", "", "", "", false)
	f.Fuzz(func(t *testing.T, contractID, typ, status, data, tenantName, requestID, name, payload string, auth bool) {
		c := &Callback{Kind: KindContract, CallbackType: typ, ContractID: contractID, ContractStatus: status,
			BusinessData: data, Actor: &Actor{TenantName: tenantName}, Payload: json.RawMessage(payload)}
		if auth {
			c.Actor = nil
			c.Auth = &Auth{RequestID: requestID, Name: name, Status: status, FailReason: data}
		}
		checkValidate(t, c)
	})
}

// FuzzVerifyThenValidate: whatever Verify accepts from a signed,
// encrypted format-A callback, Validate agrees with its oracle (JSON
// escapes such as \u0000 reach the decoded fields).
func FuzzVerifyThenValidate(f *testing.F) {
	f.Add(`{"contractId":"1\u0000","callbackType":"SEAL","contractStatus":"SIGNING"}`)
	f.Add(`{"contractId":"3121362688614077231","callbackType":"SEAL","businessData":"\u0000","tenantName":"某"}`)
	f.Add(`{"contractId":"1","callbackType":"SEAL\ud800","contact":"\u0000"}`)
	v := fuzzVerifier(&testing.T{}, VerifierConfig{Format: FormatA, Cipher: CipherECB, Secrets: []string{fuzzKey}})
	f.Fuzz(func(t *testing.T, payload string) {
		out, err := BuildCallback(SenderConfig{Format: FormatA, Secret: fuzzKey, Encrypt: true}, []byte(payload), fuzzNow)
		if err != nil {
			return
		}
		cb, err := v.Verify(KindContract, RawRequest{ContentType: out.ContentType, Body: out.Body})
		if err != nil {
			verifySentinel(t, cb, err)
			return
		}
		checkValidate(t, cb)
	})
}
