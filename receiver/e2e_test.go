package receiver_test

import (
	"context"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestFakePlatformLifecyclesStoredOnce drives contract lifecycles and
// certifications on the fake 契约锁, which delivers every callback three
// times, and checks that each accepted callback is on the stream exactly
// once.
func TestFakePlatformLifecyclesStoredOnce(t *testing.T) {
	h := newHarness(t, nil)
	srv := qystest.NewServer()
	defer srv.Close()
	base := h.http.URL + "/callbacks/acme"
	srv.SetCallbackTarget(qystest.CallbackTarget{
		ContractURL: base + "/contract", PersonalAuthURL: base + "/auth/personal", CompanyAuthURL: base + "/auth/company",
		Sender: qys.SenderConfig{Format: qys.FormatA, Secret: secretA, Encrypt: true},
	})
	srv.DuplicateCallbacks(2)
	signed := srv.AddContract(qystest.ContractSpec{Subject: "NDA", TenantName: "甲公司", BusinessData: "order-1",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13800000000"},
		}})
	rejected := srv.AddContract(qystest.ContractSpec{Subject: "Lease", TenantName: "甲公司",
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "李四"}}})
	recalled := srv.AddContract(qystest.ContractSpec{Subject: "Loan", TenantName: "甲公司",
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "王五"}}})
	for _, err := range []error{
		srv.Send(signed), srv.Sign(signed, 0), srv.Sign(signed, 1),
		srv.Send(rejected), srv.Reject(rejected, 0),
		srv.Send(recalled), srv.Recall(recalled),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv.CompleteCompanyAuth("req-1", "甲公司", true)
	srv.CompletePersonalAuth("auth-1", "FACE", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}

	logical := map[int]qystest.Delivery{}
	for _, d := range srv.Deliveries() {
		if !d.OK {
			t.Errorf("delivery %d copy %d (%s %s) refused: %d %s", d.Callback, d.Copy, d.Kind, d.CallbackType, d.StatusCode, d.Body)
		}
		logical[d.Callback] = d
	}
	type key struct{ kind, contractID, callbackType string }
	stored := map[key]int{}
	msgs := storedEnvelopes(t, h.nats.JS, h.nats.Names)
	for _, m := range msgs {
		env, err := events.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		stored[key{env.Kind, env.ContractID, env.Type}]++
	}
	if len(msgs) != len(logical) {
		t.Errorf("stream holds %d messages for %d callbacks (each delivered 3 times)", len(msgs), len(logical))
	}
	for _, d := range logical {
		k := key{string(d.Kind), d.ContractID, d.CallbackType}
		if stored[k] != 1 {
			t.Errorf("callback %d %+v stored %d times", d.Callback, k, stored[k])
		}
	}
	t.Logf("%d callbacks, %d deliveries, %d stored", len(logical), len(srv.Deliveries()), len(msgs))
}
