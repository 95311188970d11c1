package qys_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/qys"
)

// TestVerifyNotices reads each notice kind as the platform is said to
// send it (docs/qys-callbacks.md) and refuses what the policy does not
// accept.
func TestVerifyNotices(t *testing.T) {
	signed := qys.SenderConfig{Secret: secretA, Encrypt: true}
	plainUnsigned := qys.SenderConfig{Unsigned: true}
	va := MustVerifier(t, qys.VerifierConfig{Secrets: []string{secretA}})
	cases := []struct {
		name     string
		kind     qys.Kind
		sender   qys.SenderConfig
		payload  string
		req      func(*qys.RawRequest)
		wantType string
		wantKey  string
		wantErr  error
	}{
		{"SealAuditPass", qys.KindSealAudit, signed,
			`{"applyId":"7001","result":"PASS","detail":"{\"sealId\":\"9\",\"sealName\":\"合同专用章\"}"}`, nil, "PASS", "7001", nil},
		{"SealAuditUnsignedRefused", qys.KindSealAudit, plainUnsigned,
			`{"applyId":"7001","result":"REJECT"}`, nil, "", "", qys.ErrMissingSignature},
		{"SealAuditPlainRefused", qys.KindSealAudit, qys.SenderConfig{Secret: secretA},
			`{"applyId":"7001","result":"REJECT"}`, nil, "", "", qys.ErrMalformed},
		{"SignAuthSignatureInURL", qys.KindPersonalSignAuth, signed,
			`{"companyId":"42","user":"张三","item":"AUTHORIZE","authDeadline":"2027-12-31"}`, moveToQuery("signature", "timestamp"), "AUTHORIZE", "42", nil},
		{"SignAuthBadSignature", qys.KindPersonalSignAuth, signed,
			`{"companyId":"42","item":"DEAUTHORIZE"}`, formEdit("signature", strings.Repeat("0", 32)), "", "", qys.ErrBadSignature},
		{"CompanyAuthorizationUnknownShape", qys.KindCompanyAuthorization, signed,
			`{"something":"new"}`, nil, qys.NoticeTypeUnknown, "", nil},
		{"PhysicalSealEnd", qys.KindPhysicalSeal, plainUnsigned,
			`{"businessId":"b-1","status":"COMPLETE"}`, nil, "COMPLETE", "b-1", nil},
		{"PhysicalSealLeftCountKeepsTimestamp", qys.KindPhysicalSeal, plainUnsigned,
			`{"businessId":"b-1","leftCount":"3","mobile":"13800000000"}`, formEdit("timestamp", "2019-09-19 10:00:00"), qys.NoticeTypeLeftCount, "b-1", nil},
		{"PhysicalSealImage", qys.KindPhysicalSeal, plainUnsigned,
			`{"businessId":"b-2","imageType":"FACE","images":"x"}`, nil, qys.NoticeTypeSealImage, "b-2", nil},
		{"PhysicalSealWrongSignature", qys.KindPhysicalSeal, qys.SenderConfig{Secret: secretA},
			`{"businessId":"b-1","status":"USING"}`, formEdit("signature", strings.Repeat("a", 32)), "", "", qys.ErrBadSignature},
		{"KeyNotAScalar", qys.KindSealAudit, signed, `{"applyId":{"a":1}}`, nil, "", "", qys.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := MustRequest(t, c.sender, c.payload, now)
			if c.req != nil {
				c.req(&req)
			}
			cb, err := va.Verify(c.kind, req)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cb.Kind != c.kind || cb.CallbackType != c.wantType || cb.Notice == nil || cb.Notice.Key != c.wantKey {
				t.Fatalf("got kind %s type %q notice %+v", cb.Kind, cb.CallbackType, cb.Notice)
			}
			if len(cb.Notice.Digest) != 64 {
				t.Fatalf("digest %q", cb.Notice.Digest)
			}
			if c.name == "PhysicalSealLeftCountKeepsTimestamp" && !strings.Contains(string(cb.Payload), "2019-09-19") {
				t.Fatalf("the physical seal's timestamp field was dropped: %s", cb.Payload)
			}
		})
	}
}

// TestNoticeDigestIgnoresDeliveryFields: retries with a new callbackTime
// collapse; notices that differ in a field do not.
func TestNoticeDigestIgnoresDeliveryFields(t *testing.T) {
	token := "callback-token"
	secret := "0123456789abcdef0123"
	vb := MustVerifier(t, qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{secret}, Token: token})
	sender := qys.SenderConfig{Format: qys.FormatB, Secret: secret, Token: token}
	digest := func(payload string) string {
		t.Helper()
		cb, err := vb.Verify(qys.KindSealAudit, MustRequest(t, sender, payload, now))
		if err != nil {
			t.Fatal(err)
		}
		return cb.Notice.Digest
	}
	a := digest(`{"applyId":"1","result":"PASS","callbackTime":"` + msNow(0) + `"}`)
	b := digest(`{"applyId":"1","result":"PASS","callbackTime":"` + msNow(1000) + `"}`)
	c := digest(`{"applyId":"1","result":"REJECT","callbackTime":"` + msNow(0) + `"}`)
	if a != b || a == c {
		t.Fatalf("digests: retry %v, different notice %v", a == b, a != c)
	}
}

// TestPolicyOfNotices: the defaults, and a tenant that loosens them.
func TestPolicyOfNotices(t *testing.T) {
	for _, f := range []qys.Format{qys.FormatA, qys.FormatB} {
		p := qys.DefaultPolicy(f)
		for _, k := range []qys.Kind{qys.KindSealAudit, qys.KindPersonalSignAuth, qys.KindCompanyAuthorization} {
			if p.For(k) != qys.AcceptEncrypted {
				t.Errorf("format %s: %s defaults to %s", f, k, p.For(k))
			}
		}
		if p.For(qys.KindPhysicalSeal) != qys.AcceptUnsigned {
			t.Errorf("format %s: physical seal defaults to %s", f, p.For(qys.KindPhysicalSeal))
		}
	}
	v := MustVerifier(t, qys.VerifierConfig{Secrets: []string{secretA}, Policy: qys.Policy{Notice: qys.AcceptUnsigned}})
	cb, err := v.Verify(qys.KindSealAudit, MustRequest(t, qys.SenderConfig{Unsigned: true}, `{"applyId":"1","result":"PASS"}`, now))
	if err != nil || cb.CallbackType != "PASS" {
		t.Fatalf("unsigned seal audit under notice=unsigned: %v", err)
	}
	strict := MustVerifier(t, qys.VerifierConfig{Secrets: []string{secretA}, Policy: qys.Policy{PhysicalSeal: qys.AcceptPlain}})
	if _, err := strict.Verify(qys.KindPhysicalSeal, MustRequest(t, qys.SenderConfig{Unsigned: true}, `{"businessId":"1"}`, now)); !errors.Is(err, qys.ErrMissingSignature) {
		t.Fatalf("unsigned physical seal under physical_seal=plain: %v", err)
	}
	if _, err := qys.NewVerifier(qys.VerifierConfig{Secrets: []string{secretA}, Policy: qys.Policy{Notice: "loose"}}); err == nil {
		t.Fatal("an unknown notice policy was accepted")
	}
	if k, ok := qys.NoticeKind("seal-audit"); !ok || k != qys.KindSealAudit || k.Segment() != "seal-audit" {
		t.Fatalf("NoticeKind(seal-audit) = %s %v", k, ok)
	}
	if _, ok := qys.NoticeKind("contract"); ok {
		t.Fatal("contract is not a notice kind")
	}
}

func msNow(plus int64) string { return strconv.FormatInt(now.UnixMilli()+plus, 10) }
