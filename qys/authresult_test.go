package qys_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestReadCompanyAuthResult: each documented company code reads as the
// platform means it (the callback's codes misread 2 通过 as FAILED and
// 1 未提交 as SUCCESS), the legacy shape reads with the callback's codes
// only when its fields say so, and anything else is unrecognised.
func TestReadCompanyAuthResult(t *testing.T) {
	const doc = `"basicStatus":2,"basicReason":"","authEndTime":"2026-12-01 10:00:00","applicantName":"张三"`
	for _, tc := range []struct {
		name, result, shape string
		state               string
		notFound, unknown   bool
	}{
		{name: "documented -1", result: `{"status":-1}`, notFound: true},
		{name: "documented 1 未提交", result: `{"status":1,` + doc + `}`, state: lifecycle.CertNotSubmitted},
		{name: "documented 2 通过", result: `{"status":2,` + doc + `}`, state: lifecycle.CertSuccess},
		{name: "documented 3 不通过", result: `{"status":3,"basicReason":"营业执照信息不符"}`, state: lifecycle.CertFailed},
		{name: "documented 4 认证中", result: `{"status":4}`, state: lifecycle.CertInProgress},
		{name: "documented 6 已过期", result: `{"status":"6","authEndTime":"2020-01-01"}`, state: lifecycle.CertExpired},
		{name: "documented 5 unknown", result: `{"status":5,` + doc + `}`, unknown: true},
		{name: "legacy 0", result: `{"requestId":"r","registerNo":"9131","status":0}`, state: lifecycle.CertInProgress},
		// Status 1 or 2 without a documented field is ambiguous, whatever
		// legacy fields come with it: reading it needs the shape fixed.
		{name: "legacy-looking 1", result: `{"requestId":"r","legalPerson":"张三","status":1}`, unknown: true},
		{name: "legacy-looking 2", result: `{"requestId":"r","companyName":"X","status":"2"}`, unknown: true},
		{name: "forced legacy 2", result: `{"requestId":"r","status":"2"}`, shape: qys.AuthShapeLegacy, state: lifecycle.CertFailed},
		// A documented field sent as null still names the documented shape
		// (a not-submitted company was read as SUCCESS).
		{name: "documented, nulls", result: `{"requestId":"r1","status":1,"basicStatus":null,"authEndTime":null}`,
			state: lifecycle.CertNotSubmitted},
		{name: "ambiguous 1", result: `{"companyName":"甲","status":1}`, unknown: true},
		{name: "ambiguous 2", result: `{"status":2}`, unknown: true},
		{name: "no status", result: `{"companyName":"甲"}`, unknown: true},
		{name: "status a word", result: `{"status":"PASSED","basicStatus":1}`, unknown: true},
		{name: "status a fraction", result: `{"status":1.5}`, unknown: true},
		{name: "not an object", result: `[1]`, unknown: true},
		{name: "forced documented", result: `{"status":1}`, shape: qys.AuthShapeDocumented, state: lifecycle.CertNotSubmitted},
		{name: "forced legacy", result: `{"status":1}`, shape: qys.AuthShapeLegacy, state: lifecycle.CertSuccess},
		{name: "forced legacy 4", result: `{"status":4}`, shape: qys.AuthShapeLegacy, unknown: true},
	} {
		r := qys.ReadCompanyAuthResult(json.RawMessage(tc.result), tc.shape)
		switch {
		case tc.unknown:
			if r.Confirms() || r.NotFound || r.Reason != qys.UnrecognizedResult || r.Detail == "" {
				t.Errorf("%s: %+v, want unrecognized_result", tc.name, r)
			}
		case tc.notFound:
			if !r.NotFound || r.Confirms() {
				t.Errorf("%s: %+v, want not found", tc.name, r)
			}
		default:
			if r.State != tc.state || r.Reason != "" {
				t.Errorf("%s: %+v, want %s", tc.name, r, tc.state)
			}
		}
	}
}

func TestReadPersonalAuthResult(t *testing.T) {
	for _, tc := range []struct {
		name, result, shape, state string
	}{
		{"realName true", `{"realName":true,"mode":"FACEID"}`, "", lifecycle.CertSuccess},
		{"realName false", `{"realName":false,"mode":"IVS"}`, "", lifecycle.CertNotCertified},
		{"realName a string", `{"realName":"true"}`, "", ""},
		{"realName null, no status", `{"realName":null}`, "", ""},
		// Without realName the answer is ambiguous unless the shape is
		// fixed (mode is documented too).
		{"legacy-looking 1", `{"authId":"a","mode":"FACEID","status":1}`, "", ""},
		{"forced legacy 1", `{"authId":"a","status":1}`, qys.AuthShapeLegacy, lifecycle.CertSuccess},
		{"forced legacy 3", `{"authId":"a","status":3}`, qys.AuthShapeLegacy, lifecycle.CertReview},
		{"forced legacy 7", `{"authId":"a","status":7}`, qys.AuthShapeLegacy, ""},
		{"documented forced, status only", `{"status":1}`, qys.AuthShapeDocumented, ""},
		{"nothing", `{}`, "", ""},
		{"not an object", `"x"`, "", ""},
	} {
		r := qys.ReadPersonalAuthResult(json.RawMessage(tc.result), tc.shape)
		if r.State != tc.state || (tc.state == "") != (r.Reason == qys.UnrecognizedResult) {
			t.Errorf("%s: %+v, want state %q", tc.name, r, tc.state)
		}
	}
}

// TestLegacyAuthResults: a fake answering the old shape is refused by
// the auto reading for the codes the two tables share (1 and 2 mean
// opposite things), and read right by a client fixed to the legacy shape.
func TestLegacyAuthResults(t *testing.T) {
	srv := qystest.NewServer(qystest.WithLegacyAuthResults())
	t.Cleanup(srv.Close)
	auto, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := srv.Client(qys.WithAuthResultShape(qys.AuthShapeLegacy))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv.CompleteCompanyAuth("r-ok", "甲公司", true)
	srv.CompleteCompanyAuth("r-no", "乙公司", false)
	srv.SetPersonalAuth(qystest.PersonalAuth{AuthID: "p-1", Mode: "FACE", Status: qys.AuthStatusReview})
	for id, want := range map[string]string{"r-ok": lifecycle.CertSuccess, "r-no": lifecycle.CertFailed} {
		if r, err := auto.CompanyAuthResult(ctx, qys.CompanyAuthQuery{RequestID: id}); err != nil || r.Reading.Confirms() {
			t.Errorf("auto %s: %+v %v, want unrecognised", id, r, err)
		}
		r, err := legacy.CompanyAuthResult(ctx, qys.CompanyAuthQuery{RequestID: id})
		if err != nil || r.Reading.State != want || r.Reading.Shape != qys.AuthShapeLegacy {
			t.Errorf("legacy %s: %+v %v, want %s", id, r, err, want)
		}
	}
	if p, err := auto.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: "p-1"}); err != nil || p.Reading.Confirms() {
		t.Errorf("auto personal: %+v %v, want unrecognised", p, err)
	}
	if p, err := legacy.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: "p-1"}); err != nil || p.Reading.State != lifecycle.CertReview {
		t.Errorf("legacy personal: %+v %v", p, err)
	}
	if _, err := srv.Client(qys.WithAuthResultShape("guess")); err == nil {
		t.Error("an unknown shape was accepted")
	}
}

// FuzzReadAuthResult: no answer panics the readers, and a reading either
// confirms a known state or says why not.
func FuzzReadAuthResult(f *testing.F) {
	for _, s := range []string{`{"status":2,"basicStatus":2}`, `{"status":-1}`, `{"realName":true}`, `{"status":"1"}`,
		`{"requestId":"r","status":0}`, `[]`, `null`, `{"status":99999999999999999999}`, `{"realName":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, shape := range []string{"", qys.AuthShapeDocumented, qys.AuthShapeLegacy} {
			for _, r := range []qys.AuthReading{qys.ReadCompanyAuthResult(b, shape), qys.ReadPersonalAuthResult(b, shape)} {
				if r.State != "" && !lifecycle.ValidCertState(r.State) {
					t.Fatalf("%s: state %q", b, r.State)
				}
				if r.State == "" && !r.NotFound && r.Reason != qys.UnrecognizedResult {
					t.Fatalf("%s: %+v neither confirms nor says why", b, r)
				}
			}
		}
	})
}
