package dispatcher_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestCertificationsConfirmedThroughAPI: a certification callback is not
// taken on its word: the ledger holds what /companyauth/result and
// /v2/personalauth/result say, flagged confirmed.
func TestCertificationsConfirmedThroughAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		// The callbacks claim success; the API says still in progress
		// (company) and in manual review (personal).
		h.Fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-1", CompanyName: "甲方科技有限公司", Status: qys.AuthStatusInProgress})
		h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-1", Mode: "FACE", Status: qys.AuthStatusReview})
		h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthCompany, "co-1", qys.AuthStatusSuccess))
		h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, "pe-1", qys.AuthStatusSuccess))
		// One the API does not know: recorded, flagged unconfirmed.
		h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, "ghost", qys.AuthStatusSuccess))
		h.Start()
		stagetest.Eventually(t, "three certifications", func() bool {
			return h.Certification("co-1") != nil && h.Certification("pe-1") != nil && h.Certification("ghost") != nil
		})
		co, pe, ghost := h.Certification("co-1"), h.Certification("pe-1"), h.Certification("ghost")
		if co.State != lifecycle.CertInProgress || co.Status != "4" || co.Success || !co.Confirmed || co.Kind != "company" {
			t.Errorf("company certification = %+v, want the API's in-progress (documented 4), confirmed", co)
		}
		// The documented personal answer only says realName false.
		if pe.State != lifecycle.CertNotCertified || pe.Success || !pe.Confirmed {
			t.Errorf("personal certification = %+v, want the API's not certified, confirmed", pe)
		}
		if ghost.State != lifecycle.CertSuccess || ghost.Confirmed || ghost.Reason != store.CertReasonNotFound {
			t.Errorf("unknown certification = %+v, want the callback's word flagged unconfirmed (not_found)", ghost)
		}
	})
}

// TestCertificationFactsAndNoRegression: each confirmed state change is a
// fact on QYS_LEDGER (qys.ledger.<tenant>.certification.<state>); a late
// callback cannot move a confirmed success back.
func TestCertificationFactsAndNoRegression(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-2", CompanyName: "乙方", Status: qys.AuthStatusInProgress})
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthCompany, "co-2", qys.AuthStatusInProgress))
	h.Start()
	stagetest.Eventually(t, "in progress", func() bool { c := h.Certification("co-2"); return c != nil && c.Confirmed })
	h.Fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-2", CompanyName: "乙方", Status: qys.AuthStatusSuccess})
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthCompany, "co-2", qys.AuthStatusSuccess))
	stagetest.Eventually(t, "success", func() bool { c := h.Certification("co-2"); return c != nil && c.Success })
	// The platform (wrongly) reports a failure later: the success stays.
	h.Fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-2", CompanyName: "乙方", Status: qys.AuthStatusFailed})
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthCompany, "co-2", qys.AuthStatusFailed))
	stagetest.Eventually(t, "three events applied", func() bool {
		return len(h.StreamMessages(h.NATS.Names.CallbacksStream())) == 3 && h.Settled()
	})
	if c := h.Certification("co-2"); !c.Success || c.State != lifecycle.CertSuccess || c.Status != "2" || c.Pending {
		t.Fatalf("certification regressed: %+v", c)
	}
	stagetest.Eventually(t, "two facts", func() bool { return len(h.Facts()) == 2 })
	facts := h.Facts()
	if f := facts[0]; f.Kind != events.FactCertificationStatus || f.Status != lifecycle.CertInProgress ||
		!f.Confirmed || f.Certification == nil || f.Certification.RequestID != "co-2" {
		t.Fatalf("first fact %+v", f)
	}
	if f := facts[1]; f.Status != lifecycle.CertSuccess || f.PreviousStatus != lifecycle.CertInProgress {
		t.Fatalf("second fact %+v", f)
	}
	msgs := h.StreamMessages(h.NATS.Names.LedgerStream())
	if want := h.NATS.Names.LedgerCertificationSubject("default", lifecycle.CertSuccess, true); msgs[1].Subject != want || !strings.HasSuffix(want, ".qys.ledger.default.certification.SUCCESS") {
		t.Fatalf("fact subject %q", msgs[1].Subject)
	}
}

// TestCertificationAPIFailuresAreRetried: a transient failure of the
// certification-result API redelivers the event (no unconfirmed write,
// no dead letter).
func TestCertificationAPIFailuresAreRetried(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-3", Mode: "FACE", Status: qys.AuthStatusSuccess})
	h.Fake.FailNext(6, 503) // more than the client's own retries
	h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, "pe-3", qys.AuthStatusSuccess))
	h.Start()
	stagetest.Eventually(t, "confirmed", func() bool { c := h.Certification("pe-3"); return c != nil && c.Confirmed })
	if n := testutil.CollectAndCount(h.Registry, "qyshook_dispatcher_events_failed_total"); n == 0 {
		t.Fatal("no failure was counted: the faults were not exercised")
	}
	if dl, _ := h.Ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("transient failures dead-lettered: %+v", dl)
	}
}

// TestCertificationResultsAsDocumented: fed each documented result
// answer, the ledger and the facts say what the platform said (the
// callback's codes read a passed company, status 2, as FAILED and a
// not-submitted one, status 1, as SUCCESS; realName answers never
// confirmed; 1604 dead-lettered the certification); an answer of no
// known shape stays unconfirmed with its reason and raw answer, never
// mapped to success or failure; an unconfirmed fact has its own subject.
func TestCertificationResultsAsDocumented(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		company := func(id, status string) {
			h.Fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: id, CompanyName: "甲方", ResultStatus: status})
			h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthCompany, id, qys.AuthStatusSuccess))
		}
		company("c-none", "-1")
		company("c-notsub", "1")
		company("c-pass", "2")
		company("c-refused", "3")
		company("c-inprog", "4")
		company("c-expired", "6")
		company("c-odd", "5")
		h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "p-yes", Mode: "FACEID", Status: qys.AuthStatusSuccess})
		h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "p-no", Mode: "IVS", Status: qys.AuthStatusFailed})
		h.Fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "p-odd", Result: json.RawMessage(`{"verified":"Y"}`)})
		for _, id := range []string{"p-yes", "p-no", "p-odd", "p-1604"} {
			h.PublishEnvelope(stagetest.CertEnvelope(events.KindAuthPersonal, id, qys.AuthStatusFailed))
		}
		h.Start()
		ids := []string{"c-none", "c-notsub", "c-pass", "c-refused", "c-inprog", "c-expired", "c-odd", "p-yes", "p-no", "p-odd", "p-1604"}
		stagetest.Eventually(t, "every certification recorded", func() bool {
			for _, id := range ids {
				if h.Certification(id) == nil {
					return false
				}
			}
			return h.Settled()
		})
		for _, tc := range []struct {
			id, state string
			confirmed bool
			reason    string
		}{
			{"c-none", lifecycle.CertSuccess, false, store.CertReasonNotFound},
			{"c-notsub", lifecycle.CertNotSubmitted, true, ""},
			{"c-pass", lifecycle.CertSuccess, true, ""},
			{"c-refused", lifecycle.CertFailed, true, ""},
			{"c-inprog", lifecycle.CertInProgress, true, ""},
			{"c-expired", lifecycle.CertExpired, true, ""},
			{"c-odd", lifecycle.CertSuccess, false, store.CertReasonUnrecognized},
			{"p-yes", lifecycle.CertSuccess, true, ""},
			{"p-no", lifecycle.CertNotCertified, true, ""},
			{"p-odd", lifecycle.CertFailed, false, store.CertReasonUnrecognized},
			{"p-1604", lifecycle.CertFailed, false, store.CertReasonNotFound},
		} {
			c := h.Certification(tc.id)
			if c.State != tc.state || c.Confirmed != tc.confirmed || c.Reason != tc.reason || c.Success != (tc.state == lifecycle.CertSuccess) {
				t.Errorf("%s = state %s confirmed %v reason %q success %v; want %s %v %q", tc.id, c.State, c.Confirmed, c.Reason,
					c.Success, tc.state, tc.confirmed, tc.reason)
			}
			if tc.reason == store.CertReasonUnrecognized && len(c.Answer) == 0 {
				t.Errorf("%s: the unrecognised answer was not kept", tc.id)
			}
		}
		if dl, _ := h.Ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
			t.Fatalf("dead letters %+v: an unknown id (1604) is not an API failure", dl)
		}
		stagetest.Eventually(t, "facts", func() bool { return len(h.Facts()) == len(ids) })
		subjects := map[string]string{}
		for _, m := range h.StreamMessages(h.NATS.Names.LedgerStream()) {
			var f events.Fact
			if err := json.Unmarshal(m.Data, &f); err != nil {
				t.Fatal(err)
			}
			subjects[f.Certification.RequestID] = m.Subject
			if f.Confirmed == (f.Certification.UnconfirmedReason != "") {
				t.Errorf("fact %s: confirmed %v with reason %q", f.Certification.RequestID, f.Confirmed, f.Certification.UnconfirmedReason)
			}
		}
		if s := subjects["c-odd"]; !strings.HasSuffix(s, ".certification.unconfirmed.SUCCESS") {
			t.Errorf("unconfirmed fact on %q", s)
		}
		if s := subjects["c-pass"]; !strings.HasSuffix(s, ".certification.SUCCESS") || strings.Contains(s, "unconfirmed") {
			t.Errorf("confirmed fact on %q", s)
		}
	})
}

// TestFormatBCertificationEndStates: format-B USER_AUTH_EXPIRED and
// COMPANY_AUTH_INVALID are end states of their own (they were published
// as IN_PROGRESS), whatever authStatus they carry.
func TestFormatBCertificationEndStates(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	for _, tc := range []struct{ kind, id, typ string }{
		{events.KindAuthPersonal, "b-exp", "USER_AUTH_EXPIRED"},
		{events.KindAuthCompany, "b-inv", "COMPANY_AUTH_INVALID"},
	} {
		env := stagetest.CertEnvelope(tc.kind, tc.id, "1")
		env.Type, env.Format, env.Auth.Success = tc.typ, "B", false
		env.ID = events.EventID("default", tc.kind, tc.id, tc.typ, "1", "")
		h.PublishEnvelope(env)
	}
	h.Start()
	stagetest.Eventually(t, "facts", func() bool { return len(h.Facts()) == 2 })
	got := map[string]string{}
	for _, f := range h.Facts() {
		got[f.Certification.RequestID] = f.Status
	}
	if got["b-exp"] != lifecycle.CertExpired || got["b-inv"] != lifecycle.CertInvalid {
		t.Fatalf("fact states %v, want EXPIRED and INVALID", got)
	}
	if c := h.Certification("b-exp"); c.State != lifecycle.CertExpired || c.Success {
		t.Fatalf("b-exp = %+v", c)
	}
}
