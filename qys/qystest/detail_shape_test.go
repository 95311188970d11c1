package qystest_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// rawDetail fetches the detail through the client and returns it decoded
// and as a generic JSON object.
func rawDetail(tb testing.TB, srv *qystest.Server, id string) (*qys.Contract, map[string]any) {
	tb.Helper()
	c, err := MustClient(tb, srv).ContractDetail(ctxTimeout(tb, 5*time.Second), qys.ContractQuery{ContractID: id})
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(c.Raw, &m); err != nil {
		tb.Fatal(err)
	}
	return c, m
}

func signatoryStatuses(c *qys.Contract) (sig, act []string) {
	for _, s := range c.Signatories {
		sig = append(sig, s.Status)
		for _, a := range s.Actions {
			act = append(act, a.Status)
		}
	}
	return sig, act
}

// ledgerProgress is the ledger's signed count of the detail, built the
// way the dispatcher copies a detail into store.Contract.
func ledgerProgress(c *qys.Contract) int {
	sc := store.Contract{ID: string(c.ID), Status: c.Status}
	for _, s := range c.Signatories {
		sc.Signatories = append(sc.Signatories, store.Signatory{ID: string(s.ID), Status: s.Status})
	}
	return store.Progress(&sc)
}

// TestDetailVendorShape: the fake's detail names its fields as the
// vendor's models do (documents pageCount, receivers contactType), uses
// the public-cloud statuses (signatory SIGNED/WAITING, action
// INIT/START/FINISH/STOP), and the ledger's signed count is right on them.
func TestDetailVendorShape(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) {
		s.Signatories = append(s.Signatories, qystest.SignatorySpec{TenantName: "王五", Contact: "w@example.com"})
	})
	c, m := rawDetail(t, srv, id)
	doc := m["documents"].([]any)[0].(map[string]any)
	if doc["pageCount"] == nil || doc["pages"] != nil || c.Documents[0].PageCount < 1 {
		t.Errorf("document = %v, want pageCount and no pages", doc)
	}
	recv := m["signatories"].([]any)[0].(map[string]any)["receiver"].(map[string]any)
	if recv["contactType"] != "MOBILE" || recv["type"] != nil {
		t.Errorf("receiver = %v, want contactType MOBILE and no type", recv)
	}
	if got := c.Signatories[2].Receiver.ContactType; got != qys.ContactEmail {
		t.Errorf("e-mail receiver contactType = %q", got)
	}

	steps := []struct {
		name     string
		do       func() error
		sig, act []string
		signed   int
	}{
		{"Draft", func() error { return nil },
			[]string{"DRAFT", "DRAFT", "DRAFT"}, []string{"INIT", "INIT", "INIT"}, 0},
		{"Sent", func() error { return srv.Send(id) },
			[]string{"SIGNING", "WAITING", "WAITING"}, []string{"START", "INIT", "INIT"}, 0},
		{"FirstSigned", func() error { return srv.Sign(id, 0) },
			[]string{"SIGNED", "SIGNING", "WAITING"}, []string{"FINISH", "START", "INIT"}, 1},
		{"SecondSigned", func() error { return srv.Sign(id, 1) },
			[]string{"SIGNED", "SIGNED", "SIGNING"}, []string{"FINISH", "FINISH", "START"}, 2},
		{"AllSigned", func() error { return srv.Sign(id, 2) },
			[]string{"SIGNED", "SIGNED", "SIGNED"}, []string{"FINISH", "FINISH", "FINISH"}, 3},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		c, _ := rawDetail(t, srv, id)
		sig, act := signatoryStatuses(c)
		if !slices.Equal(sig, st.sig) || !slices.Equal(act, st.act) {
			t.Errorf("%s: signatories %v actions %v, want %v %v", st.name, sig, act, st.sig, st.act)
		}
		if n := ledgerProgress(c); n != st.signed {
			t.Errorf("%s: ledger signed count %d, want %d", st.name, n, st.signed)
		}
	}

	t.Run("Recalled", func(t *testing.T) {
		id := MustContract(t, srv, nil)
		if err := srv.Send(id); err != nil {
			t.Fatal(err)
		}
		if err := srv.Sign(id, 0); err != nil {
			t.Fatal(err)
		}
		if err := srv.Recall(id); err != nil {
			t.Fatal(err)
		}
		c, _ := rawDetail(t, srv, id)
		sig, act := signatoryStatuses(c)
		if !slices.Equal(sig, []string{"SIGNED", "RECALLED"}) || !slices.Equal(act, []string{"FINISH", "STOP"}) {
			t.Errorf("signatories %v actions %v", sig, act)
		}
		if n := ledgerProgress(c); n != 1 {
			t.Errorf("ledger signed count %d, want 1", n)
		}
	})

	t.Run("PrivateCloud", func(t *testing.T) {
		srv := MustServer(t, qystest.WithPrivateCloud())
		id := MustContract(t, srv, nil)
		_ = srv.Send(id)
		_ = srv.Sign(id, 0)
		c, _ := rawDetail(t, srv, id)
		sig, _ := signatoryStatuses(c)
		if !slices.Equal(sig, []string{"COMPLETE", "SIGNING"}) || ledgerProgress(c) != 1 {
			t.Errorf("private cloud signatories %v (signed %d), want [COMPLETE SIGNING] and 1", sig, ledgerProgress(c))
		}
	})
}
