package lifecycle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
)

func TestRank(t *testing.T) {
	order := [][]string{
		{"DRAFT"}, {"FILLING"}, {"SIGNING", "WHATEVER"},
		{"COMPLETE", "REJECTED", "RECALLED", "EXPIRED", "FAILED", "FORCE_END", "END", "DELETE", "FINISHED"},
		{"INVALIDING", "TERMINATING"}, {"INVALIDED", "TERMINATED"},
	}
	for rank, statuses := range order {
		for _, s := range statuses {
			if got := lifecycle.Rank(s); got != rank {
				t.Errorf("Rank(%s) = %d, want %d", s, got, rank)
			}
		}
	}
	for s, want := range map[string]bool{"COMPLETE": false, "REJECTED": true, "INVALIDING": false, "INVALIDED": true,
		"TERMINATED": true, "SIGNING": false, "X": false} {
		if got := lifecycle.IsTerminal(s); got != want {
			t.Errorf("IsTerminal(%s) = %v", s, got)
		}
	}
}

func TestSignedAndOpen(t *testing.T) {
	for s, want := range map[string]bool{"COMPLETE": true, "INVALIDING": true, "INVALIDED": true, "TERMINATING": true,
		"TERMINATED": true, "SIGNING": false, "REJECTED": false, "X": false} {
		if got := lifecycle.Signed(s); got != want {
			t.Errorf("Signed(%s) = %v", s, got)
		}
	}
	for _, s := range lifecycle.SignedStatuses() {
		if !lifecycle.Signed(s) {
			t.Errorf("SignedStatuses has %s, not Signed", s)
		}
	}
	for _, s := range lifecycle.OpenStatuses() {
		if lifecycle.IsTerminal(s) || s == lifecycle.Complete {
			t.Errorf("OpenStatuses has %s", s)
		}
	}
	for s, want := range map[string]bool{"COMPLETE": true, "SIGNED": true, "FINISHED": true, "WAITING": false, "": false} {
		if got := lifecycle.SignatoryDone(s); got != want {
			t.Errorf("SignatoryDone(%s) = %v", s, got)
		}
	}
}

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// at is a fetch time, n seconds after t0; -1 means none.
func at(n int) time.Time {
	if n < 0 {
		return time.Time{}
	}
	return t0.Add(time.Duration(n) * time.Second)
}

func v(status string, confirmed bool, signed int, detail string, fetched int) lifecycle.View {
	return lifecycle.View{Status: status, Confirmed: confirmed, Signed: signed, Detail: []byte(detail), FetchedAt: at(fetched)}
}

func TestAdvances(t *testing.T) {
	p := func(x lifecycle.View) *lifecycle.View { return &x }
	cases := []struct {
		old  *lifecycle.View
		next lifecycle.View
		want bool
	}{
		{nil, v("DRAFT", false, 0, "", -1), true},
		{p(v("COMPLETE", true, 3, "", -1)), v("SIGNING", true, 2, "", -1), false},
		{p(v("SIGNING", false, 0, "", -1)), v("COMPLETE", false, 3, "", -1), true},
		{p(v("REJECTED", true, 0, "", -1)), v("INVALIDED", true, 0, "", -1), false},
		{p(v("COMPLETE", true, 3, "", -1)), v("INVALIDING", false, 3, "", -1), true},
		{p(v("INVALIDING", true, 3, "", -1)), v("COMPLETE", false, 3, "", -1), false},
		{p(v("INVALIDING", true, 3, "", -1)), v("COMPLETE", true, 3, "", -1), true},
		{p(v("SIGNING", true, 1, "", -1)), v("SIGNING", false, 2, "", -1), false},
		{p(v("SIGNING", false, 2, "", -1)), v("SIGNING", true, 0, "", -1), true},
		{p(v("SIGNING", true, 1, `{"a":1}`, -1)), v("SIGNING", true, 1, `{ "a": 1 }`, -1), false},
		{p(v("SIGNING", true, 1, `{"a":1}`, -1)), v("SIGNING", true, 1, `{"a":2}`, -1), true},
		{p(v("SIGNING", true, 2, `{"a":1}`, -1)), v("SIGNING", true, 1, `{"a":2}`, -1), false},
		{p(v("EXPIRED", false, 0, "", -1)), v("NEW_STATUS", true, 0, "", -1), false},
		{p(v("REJECTED", false, 0, "", -1)), v("COMPLETE", true, 3, "", -1), false},
		{p(v("COMPLETE", true, 3, "", -1)), v("REJECTED", true, 0, "", -1), false},
		// Fetch order, point fetches (no end recorded).
		{p(v("INVALIDING", true, 3, "", 2)), v("COMPLETE", true, 3, "", 1), false},  // the defect: an older COMPLETE committed late
		{p(v("INVALIDING", true, 3, "", 2)), v("COMPLETE", true, 3, "", 3), true},   // a newer one: the voiding was refused
		{p(v("INVALIDING", true, 3, "", 2)), v("COMPLETE", true, 3, "", 2), false},  // same instant: not definitely newer
		{p(v("INVALIDING", true, 3, "", 2)), v("COMPLETE", true, 3, "", -1), false}, // a confirmed view of unknown age
		{p(v("TERMINATING", true, 3, "", 2)), v("COMPLETE", true, 3, "", 1), false},
		{p(v("SIGNING", true, 1, "", 5)), v("COMPLETE", true, 3, "", 4), false}, // point fetches: definitely older
		{p(v("SIGNING", true, 1, `{"a":1}`, 5)), v("SIGNING", true, 1, `{"a":2}`, 4), false},
		{p(v("SIGNING", true, 1, "", 5)), v("COMPLETE", false, 3, "", -1), true},    // unconfirmed: current rules
		{p(v("INVALIDING", false, 3, "", 2)), v("COMPLETE", true, 3, "", 1), false}, // the row's fetch time counts even when a callback moved it since
		{p(v("INVALIDING", true, 3, "", -1)), v("COMPLETE", true, 3, "", 1), true},  // a row without a fetch time: the usual rules
		{p(v("REJECTED", false, 0, "", 5)), v("COMPLETE", true, 3, "", 4), false},   // same rank, definitely older
	}
	for i, tc := range cases {
		name := fmt.Sprintf("%d", i)
		if tc.old != nil {
			name = fmt.Sprintf("%d/%s-%v@%v->%s-%v@%v", i, tc.old.Status, tc.old.Confirmed, tc.old.FetchedAt.Second(),
				tc.next.Status, tc.next.Confirmed, tc.next.FetchedAt.Second())
		}
		if got := lifecycle.Advances(tc.old, tc.next); got != tc.want {
			t.Errorf("%s: Advances = %v, want %v", name, got, tc.want)
		}
	}
}

// span is a view whose fetch began at second began and ended at second ended.
func span(status string, confirmed bool, signed int, detail string, began, ended int) lifecycle.View {
	x := v(status, confirmed, signed, detail, began)
	x.FetchEndedAt = at(ended)
	return x
}

// TestAdvancesOverlap: fetch start times do not order overlapping fetches.
// Advances never refuses a move up in rank for its fetch time, steps back
// from a voiding only for a fetch that began after the row's ended, and
// refuses a same-status refinement only when it is definitely older;
// Stale marks the refusals an overlap caused.
func TestAdvancesOverlap(t *testing.T) {
	p := func(x lifecycle.View) *lifecycle.View { return &x }
	cases := []struct {
		name        string
		old         *lifecycle.View
		next        lifecycle.View
		want, stale bool
	}{
		// D2(a): A began 1, answered INVALIDING at 6; B began 2, answered COMPLETE at 3, committed last.
		{"voiding reverted by an overlapping older answer", p(span("INVALIDING", true, 3, "", 1, 6)), span("COMPLETE", true, 3, "", 2, 3), false, true},
		{"step back, definitely newer", p(span("INVALIDING", true, 3, "", 1, 6)), span("COMPLETE", true, 3, "", 7, 8), true, false},
		{"step back, began as the row ended", p(span("INVALIDING", true, 3, "", 1, 6)), span("COMPLETE", true, 3, "", 6, 8), false, true},
		{"step back, definitely older", p(span("INVALIDING", true, 3, "", 4, 6)), span("COMPLETE", true, 3, "", 1, 3), false, false},
		{"step back, unknown age", p(span("INVALIDING", true, 3, "", 4, 6)), v("COMPLETE", true, 3, "", -1), false, false},
		{"step back, unconfirmed", p(span("TERMINATING", true, 3, "", 4, 6)), v("COMPLETE", false, 3, "", -1), false, false},
		// D2(b): B began 2, answered SIGNING at 3, committed first; A began 1, answered COMPLETE at 6.
		{"forward move began earlier", p(span("SIGNING", true, 1, "", 2, 3)), span("COMPLETE", true, 3, "", 1, 6), true, false},
		{"forward move overlapping a later start", p(span("SIGNING", true, 1, "", 2, 3)), span("COMPLETE", true, 3, "", 2, 2), true, false},
		{"step back undone by a definitely older voiding", p(span("COMPLETE", true, 3, "", 5, 6)), span("INVALIDING", true, 3, "", 1, 2), false, false},
		{"voiding overlapping a step back", p(span("COMPLETE", true, 3, "", 5, 6)), span("INVALIDING", true, 3, "", 1, 5), true, false},
		{"backward move refused by rank", p(span("COMPLETE", true, 3, "", 1, 2)), span("SIGNING", true, 1, "", 5, 6), false, false},
		{"refinement overlapping", p(span("SIGNING", true, 1, `{"a":1}`, 2, 3)), span("SIGNING", true, 2, `{"a":2}`, 1, 6), true, false},
		{"refinement definitely older", p(span("SIGNING", true, 1, `{"a":1}`, 5, 6)), span("SIGNING", true, 2, `{"a":2}`, 1, 4), false, false},
		{"refinement ending as the row began", p(span("SIGNING", true, 1, `{"a":1}`, 5, 6)), span("SIGNING", true, 2, `{"a":2}`, 1, 5), true, false},
		{"same state overlapping", p(span("SIGNING", true, 1, `{"a":1}`, 2, 3)), span("SIGNING", true, 1, `{"a":1}`, 1, 6), false, false},
	}
	for _, tc := range cases {
		if got := lifecycle.Advances(tc.old, tc.next); got != tc.want {
			t.Errorf("%s: Advances = %v, want %v", tc.name, got, tc.want)
		}
		if got := lifecycle.Stale(tc.old, tc.next); got != tc.stale {
			t.Errorf("%s: Stale = %v, want %v", tc.name, got, tc.stale)
		}
	}
	if lifecycle.Stale(nil, v("COMPLETE", true, 3, "", 1)) {
		t.Error("Stale over no row")
	}
}

func TestRefetched(t *testing.T) {
	old := span("COMPLETE", true, 3, "", 2, 6)
	for _, tc := range []struct {
		next         lifecycle.View
		began, ended int
		reconfirms   bool
	}{
		{span("COMPLETE", true, 3, "", 3, 5), 3, 6, true},
		{span("COMPLETE", true, 3, "", 1, 7), 2, 7, true},
		{span("COMPLETE", true, 3, "", 7, 9), 7, 9, true},
		{span("COMPLETE", true, 3, "", 1, 5), 2, 6, false},
		{v("COMPLETE", true, 3, "", 4), 4, 6, true},
	} {
		b, e := lifecycle.Refetched(&old, tc.next)
		if !b.Equal(at(tc.began)) || !e.Equal(at(tc.ended)) {
			t.Errorf("Refetched(%v..%v) = %v..%v, want %d..%d", tc.next.FetchedAt.Second(), tc.next.FetchEndedAt.Second(),
				b.Second(), e.Second(), tc.began, tc.ended)
		}
		if got := lifecycle.Reconfirms(&old, tc.next); got != tc.reconfirms {
			t.Errorf("Reconfirms(%v..%v) = %v", tc.next.FetchedAt.Second(), tc.next.FetchEndedAt.Second(), got)
		}
	}
}

func TestReconfirms(t *testing.T) {
	old := v("COMPLETE", true, 3, `{"a":1}`, 2)
	cases := []struct {
		next lifecycle.View
		want bool
	}{
		{v("COMPLETE", true, 3, `{ "a": 1 }`, 3), true},
		{v("COMPLETE", true, 3, `{"a":1}`, 2), false},
		{v("COMPLETE", true, 3, `{"a":1}`, 1), false},
		{v("COMPLETE", false, 3, `{"a":1}`, 3), false},
		{v("COMPLETE", true, 3, `{"a":2}`, 3), false},
		{v("INVALIDING", true, 3, `{"a":1}`, 3), false},
	}
	for i, tc := range cases {
		if got := lifecycle.Reconfirms(&old, tc.next); got != tc.want {
			t.Errorf("%d: Reconfirms = %v, want %v", i, got, tc.want)
		}
	}
}

func TestCertState(t *testing.T) {
	for _, tc := range []struct {
		status  string
		success bool
		want    string
	}{
		{"0", false, lifecycle.CertInProgress}, {"1", false, lifecycle.CertSuccess}, {"2", false, lifecycle.CertFailed},
		{"3", false, lifecycle.CertReview}, {"", false, lifecycle.CertInProgress}, {"AUTHING", true, lifecycle.CertSuccess},
		{"COMPANY_AUTH_FAIL", false, lifecycle.CertFailed}, {"PERSONAL_AUTH_SUCCESS", false, lifecycle.CertSuccess},
		// Format B's end states are their own (they were IN_PROGRESS).
		{"USER_AUTH_EXPIRED", false, lifecycle.CertExpired}, {"COMPANY_AUTH_INVALID", false, lifecycle.CertInvalid},
		{"NOT_SUBMITTED", false, lifecycle.CertNotSubmitted}, {"REVIEW", false, lifecycle.CertReview},
	} {
		if got := lifecycle.CertState(tc.status, tc.success); got != tc.want {
			t.Errorf("CertState(%q, %v) = %s, want %s", tc.status, tc.success, got, tc.want)
		}
	}
}

func TestCertAdvancesNeverRegresses(t *testing.T) {
	v := func(state string, confirmed bool) lifecycle.CertView {
		return lifecycle.CertView{State: state, Confirmed: confirmed}
	}
	const (
		ip, rv, fl, ok = lifecycle.CertInProgress, lifecycle.CertReview, lifecycle.CertFailed, lifecycle.CertSuccess
		ns, ex         = lifecycle.CertNotSubmitted, lifecycle.CertExpired
	)
	for i, tc := range []struct {
		old, next lifecycle.CertView
		want      bool
	}{
		{v(ip, true), v(rv, true), true},
		{v(rv, true), v(ip, true), false},
		{v(fl, true), v(ok, true), true},
		{v(ok, true), v(fl, true), false},
		{v(ok, true), v(ip, true), false},
		{v(ok, false), v(ok, true), true}, // the success confirmed
		{v(ok, false), v(ip, true), true}, // the API's word replaces a forged success
		{v(ok, false), v(ns, true), true},
		{v(ok, true), v(ok, false), false},
		{v(ok, true), v(ex, true), true}, // a success lapses
		{v(ex, true), v(ok, true), false},
		{v(ex, true), v(ok, false), false},
		{v(ns, true), v(ip, true), true},
		{v(ok, false), v(fl, false), false},
		{v(ip, true), v(ok, false), false}, // the callback's word never overrides the API
		{v(ip, false), v(ip, true), true},
		{v(ip, false), v(rv, false), true},
		{v(ip, true), v(ip, true), false},
	} {
		old := tc.old
		if got := lifecycle.CertAdvances(&old, tc.next); got != tc.want {
			t.Errorf("%d: CertAdvances(%+v, %+v) = %v, want %v", i, tc.old, tc.next, got, tc.want)
		}
	}
	if !lifecycle.CertAdvances(nil, v(ip, false)) {
		t.Error("a new certification does not advance")
	}
	if lifecycle.CertPending(v(ok, true)) || lifecycle.CertPending(v(fl, true)) || !lifecycle.CertPending(v(ok, false)) ||
		!lifecycle.CertPending(v(rv, true)) || !lifecycle.CertPending(v(ns, true)) || lifecycle.CertPending(v(ex, true)) {
		t.Error("CertPending: want unconfirmed, in-progress and review rows pending")
	}
}
