package dispatcher_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/store"
)

// certEnvelope is a certification callback claiming status for requestID.
func certEnvelope(kind, requestID, status string) events.Envelope {
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: kind, Type: "AUTH",
		Auth: &events.Auth{RequestID: requestID, Status: status, Success: status == qys.AuthStatusSuccess,
			Mode: "FACE", Name: "张三"},
		ReceivedAt: time.Now().UTC(), Format: "A", Source: events.SourceCallback, Payload: json.RawMessage(`{}`),
	}
	env.ID = events.EventID("default", kind, requestID, "AUTH", status, "")
	return env
}

func (h *harness) certification(requestID string) *store.Certification {
	c, err := h.ledger.Certification(context.Background(), "default", requestID)
	if err != nil {
		return nil
	}
	return c
}

// TestCertificationsConfirmedThroughAPI: a certification callback is not
// taken on its word: the ledger holds what /companyauth/result and
// /v2/personalauth/result say, flagged confirmed.
func TestCertificationsConfirmedThroughAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := newHarness(t, l)
		// The callbacks claim success; the API says still in progress
		// (company) and in manual review (personal).
		h.fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-1", CompanyName: "甲方科技有限公司", Status: qys.AuthStatusInProgress})
		h.fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-1", Mode: "FACE", Status: qys.AuthStatusReview})
		h.publishEnvelope(certEnvelope(events.KindAuthCompany, "co-1", qys.AuthStatusSuccess))
		h.publishEnvelope(certEnvelope(events.KindAuthPersonal, "pe-1", qys.AuthStatusSuccess))
		// One the API does not know: recorded, flagged unconfirmed.
		h.publishEnvelope(certEnvelope(events.KindAuthPersonal, "ghost", qys.AuthStatusSuccess))
		h.start()
		eventually(t, "three certifications", func() bool {
			return h.certification("co-1") != nil && h.certification("pe-1") != nil && h.certification("ghost") != nil
		})
		co, pe, ghost := h.certification("co-1"), h.certification("pe-1"), h.certification("ghost")
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
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	h.fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-2", CompanyName: "乙方", Status: qys.AuthStatusInProgress})
	h.publishEnvelope(certEnvelope(events.KindAuthCompany, "co-2", qys.AuthStatusInProgress))
	h.start()
	eventually(t, "in progress", func() bool { c := h.certification("co-2"); return c != nil && c.Confirmed })
	h.fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-2", CompanyName: "乙方", Status: qys.AuthStatusSuccess})
	h.publishEnvelope(certEnvelope(events.KindAuthCompany, "co-2", qys.AuthStatusSuccess))
	eventually(t, "success", func() bool { c := h.certification("co-2"); return c != nil && c.Success })
	// The platform (wrongly) reports a failure later: the success stays.
	h.fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-2", CompanyName: "乙方", Status: qys.AuthStatusFailed})
	h.publishEnvelope(certEnvelope(events.KindAuthCompany, "co-2", qys.AuthStatusFailed))
	eventually(t, "three events applied", func() bool {
		return len(h.streamMessages(h.nats.Names.CallbacksStream())) == 3 && h.settled()
	})
	if c := h.certification("co-2"); !c.Success || c.State != lifecycle.CertSuccess || c.Status != "2" || c.Pending {
		t.Fatalf("certification regressed: %+v", c)
	}
	eventually(t, "two facts", func() bool { return len(h.facts()) == 2 })
	facts := h.facts()
	if f := facts[0]; f.Kind != events.FactCertificationStatus || f.Status != lifecycle.CertInProgress ||
		!f.Confirmed || f.Certification == nil || f.Certification.RequestID != "co-2" {
		t.Fatalf("first fact %+v", f)
	}
	if f := facts[1]; f.Status != lifecycle.CertSuccess || f.PreviousStatus != lifecycle.CertInProgress {
		t.Fatalf("second fact %+v", f)
	}
	msgs := h.streamMessages(h.nats.Names.LedgerStream())
	if want := h.nats.Names.LedgerCertificationSubject("default", lifecycle.CertSuccess, true); msgs[1].Subject != want || !strings.HasSuffix(want, ".qys.ledger.default.certification.SUCCESS") {
		t.Fatalf("fact subject %q", msgs[1].Subject)
	}
}

// TestCertificationAPIFailuresAreRetried: a transient failure of the
// certification-result API redelivers the event (no unconfirmed write,
// no dead letter).
func TestCertificationAPIFailuresAreRetried(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	h.fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-3", Mode: "FACE", Status: qys.AuthStatusSuccess})
	h.fake.FailNext(6, 503) // more than the client's own retries
	h.publishEnvelope(certEnvelope(events.KindAuthPersonal, "pe-3", qys.AuthStatusSuccess))
	h.start()
	eventually(t, "confirmed", func() bool { c := h.certification("pe-3"); return c != nil && c.Confirmed })
	if n := testutil.CollectAndCount(h.reg, "qyshook_dispatcher_events_failed_total"); n == 0 {
		t.Fatal("no failure was counted: the faults were not exercised")
	}
	if dl, _ := h.ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("transient failures dead-lettered: %+v", dl)
	}
}

// TestReconcilerPollsPendingCertifications: a certification left in
// progress (its success callback never arrived) is polled by the
// reconciler and ends confirmed in the ledger; one the API does not know
// stays as recorded; a second pass finds nothing.
func TestReconcilerPollsPendingCertifications(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	h.fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-4", Mode: "FACE", Status: qys.AuthStatusInProgress})
	h.publishEnvelope(certEnvelope(events.KindAuthPersonal, "pe-4", qys.AuthStatusInProgress))
	h.publishEnvelope(certEnvelope(events.KindAuthPersonal, "ghost-4", qys.AuthStatusInProgress))
	h.start()
	eventually(t, "recorded", func() bool { return h.certification("pe-4") != nil && h.certification("ghost-4") != nil })
	// The person passes; 契约锁's callback is lost.
	h.fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-4", Mode: "FACE", Status: qys.AuthStatusSuccess})
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	r := reconcile.New(reconcile.Options{JS: h.nats.JS, Names: h.nats.Names, Ledger: h.ledger, APIs: h.reconcileAPIs(), Now: later})
	rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Triggered != 1 {
		t.Fatalf("report %+v, want 1 trigger", rep)
	}
	eventually(t, "success confirmed", func() bool {
		c := h.certification("pe-4")
		return c != nil && c.Success && c.Confirmed && !c.Pending
	})
	evs := h.streamMessages(h.nats.Names.CallbacksStream())
	last, err := events.Decode(evs[len(evs)-1].Data)
	if err != nil || last.Type != reconcile.TypeReconcile || last.Source != events.SourceReconcile || last.Auth.RequestID != "pe-4" {
		t.Fatalf("trigger %+v, %v", last, err)
	}
	eventually(t, "settled", h.settled)
	if rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.Triggered != 0 {
		t.Fatalf("second pass: %+v, %v", rep, err)
	}
	if c := h.certification("ghost-4"); c.Confirmed || c.Status != qys.AuthStatusInProgress || c.Reason != store.CertReasonNotFound {
		t.Fatalf("unknown certification changed: %+v", c)
	}
	// The one the API does not know is reported, by id, on every pass
	// (it was skipped silently and counted with the contracts).
	if rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.CertificationsUnconfirmed != 1 ||
		len(rep.UnconfirmedCertifications) != 1 || rep.UnconfirmedCertifications[0] != "ghost-4" {
		t.Fatalf("third pass: %+v, %v; want ghost-4 reported unconfirmed", rep, err)
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
		h := newHarness(t, l)
		company := func(id, status string) {
			h.fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: id, CompanyName: "甲方", ResultStatus: status})
			h.publishEnvelope(certEnvelope(events.KindAuthCompany, id, qys.AuthStatusSuccess))
		}
		company("c-none", "-1")
		company("c-notsub", "1")
		company("c-pass", "2")
		company("c-refused", "3")
		company("c-inprog", "4")
		company("c-expired", "6")
		company("c-odd", "5")
		h.fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "p-yes", Mode: "FACEID", Status: qys.AuthStatusSuccess})
		h.fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "p-no", Mode: "IVS", Status: qys.AuthStatusFailed})
		h.fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "p-odd", Result: json.RawMessage(`{"verified":"Y"}`)})
		for _, id := range []string{"p-yes", "p-no", "p-odd", "p-1604"} {
			h.publishEnvelope(certEnvelope(events.KindAuthPersonal, id, qys.AuthStatusFailed))
		}
		h.start()
		ids := []string{"c-none", "c-notsub", "c-pass", "c-refused", "c-inprog", "c-expired", "c-odd", "p-yes", "p-no", "p-odd", "p-1604"}
		eventually(t, "every certification recorded", func() bool {
			for _, id := range ids {
				if h.certification(id) == nil {
					return false
				}
			}
			return h.settled()
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
			c := h.certification(tc.id)
			if c.State != tc.state || c.Confirmed != tc.confirmed || c.Reason != tc.reason || c.Success != (tc.state == lifecycle.CertSuccess) {
				t.Errorf("%s = state %s confirmed %v reason %q success %v; want %s %v %q", tc.id, c.State, c.Confirmed, c.Reason,
					c.Success, tc.state, tc.confirmed, tc.reason)
			}
			if tc.reason == store.CertReasonUnrecognized && len(c.Answer) == 0 {
				t.Errorf("%s: the unrecognised answer was not kept", tc.id)
			}
		}
		if dl, _ := h.ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
			t.Fatalf("dead letters %+v: an unknown id (1604) is not an API failure", dl)
		}
		eventually(t, "facts", func() bool { return len(h.facts()) == len(ids) })
		subjects := map[string]string{}
		for _, m := range h.streamMessages(h.nats.Names.LedgerStream()) {
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
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	for _, tc := range []struct{ kind, id, typ string }{
		{events.KindAuthPersonal, "b-exp", "USER_AUTH_EXPIRED"},
		{events.KindAuthCompany, "b-inv", "COMPANY_AUTH_INVALID"},
	} {
		env := certEnvelope(tc.kind, tc.id, "1")
		env.Type, env.Format, env.Auth.Success = tc.typ, "B", false
		env.ID = events.EventID("default", tc.kind, tc.id, tc.typ, "1", "")
		h.publishEnvelope(env)
	}
	h.start()
	eventually(t, "facts", func() bool { return len(h.facts()) == 2 })
	got := map[string]string{}
	for _, f := range h.facts() {
		got[f.Certification.RequestID] = f.Status
	}
	if got["b-exp"] != lifecycle.CertExpired || got["b-inv"] != lifecycle.CertInvalid {
		t.Fatalf("fact states %v, want EXPIRED and INVALID", got)
	}
	if c := h.certification("b-exp"); c.State != lifecycle.CertExpired || c.Success {
		t.Fatalf("b-exp = %+v", c)
	}
}
