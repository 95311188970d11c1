// Package lifecycle is the one vocabulary of a 契约锁 contract's life that
// the protocol (qys), the ledger (store) and the dispatcher share: the
// contract statuses, how they rank, which are terminal, which mean the
// contract was signed (its documents must be archived), which signatory
// statuses count as signed, and Advances, the rule that decides whether
// one view of a contract replaces another.
package lifecycle

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// Contract statuses (status in /v2/contract/detail and /v2/contract/list,
// contractStatus in callbacks). The set is open: any other value is a
// contract still in progress (rank 2). TERMINATING and TERMINATED are
// private cloud 4.0's names for INVALIDING and INVALIDED.
const (
	Draft       = "DRAFT"
	Filling     = "FILLING"
	Signing     = "SIGNING"
	Complete    = "COMPLETE"
	Rejected    = "REJECTED"
	Recalled    = "RECALLED"
	Expired     = "EXPIRED"
	Failed      = "FAILED"
	ForceEnd    = "FORCE_END"
	End         = "END"
	Delete      = "DELETE"
	Finished    = "FINISHED"
	Invaliding  = "INVALIDING"
	Invalided   = "INVALIDED"
	Terminating = "TERMINATING"
	Terminated  = "TERMINATED"
)

var ranks = map[string]int{
	Draft:       0,
	Filling:     1,
	Signing:     2,
	Complete:    3,
	Rejected:    3,
	Recalled:    3,
	Expired:     3,
	Failed:      3,
	ForceEnd:    3,
	End:         3,
	Delete:      3,
	Finished:    3,
	Invaliding:  4,
	Terminating: 4,
	Invalided:   5,
	Terminated:  5,
}

// Rank orders contract statuses: DRAFT 0 < FILLING 1 < SIGNING 2 < the
// ends (COMPLETE, REJECTED, RECALLED, EXPIRED, FAILED, FORCE_END, END,
// DELETE, FINISHED) 3 < INVALIDING, TERMINATING 4 < INVALIDED,
// TERMINATED 5. An unknown status ranks 2, as a contract still in
// progress.
func Rank(status string) int {
	if r, ok := ranks[status]; ok {
		return r
	}
	return 2
}

// IsTerminal reports whether nothing moves a contract out of status: every
// rank-3 end except COMPLETE (which may still be voided), and the rank-5
// states.
func IsTerminal(status string) bool {
	r, known := ranks[status]
	return known && (r == 3 && status != Complete || r == 5)
}

// Voiding reports whether status is a voiding in progress (INVALIDING,
// TERMINATING), the one state a contract may leave back to COMPLETE.
func Voiding(status string) bool { return status == Invaliding || status == Terminating }

// Signed reports whether a contract in status has been signed by every
// party, so its signed documents exist and must be archived: COMPLETE,
// and a completed contract being or having been voided (INVALIDING,
// INVALIDED, TERMINATING, TERMINATED): the signed PDF stays evidence.
func Signed(status string) bool {
	switch status {
	case Complete, Invaliding, Invalided, Terminating, Terminated:
		return true
	}
	return false
}

// SignedStatuses are the statuses for which Signed is true.
func SignedStatuses() []string {
	return []string{Complete, Invaliding, Invalided, Terminating, Terminated}
}

// OpenStatuses are the known statuses a contract can still leave on its
// own (not terminal, not COMPLETE): the ones the reconciler polls.
func OpenStatuses() []string { return []string{Draft, Filling, Signing, Invaliding, Terminating} }

// SignatoryDone reports whether a signatory (or action) status counts as
// signed: COMPLETE, SIGNED or FINISHED.
func SignatoryDone(status string) bool {
	switch status {
	case Complete, "SIGNED", Finished:
		return true
	}
	return false
}

// View is what Advances compares of one contract: a ledger row, or a
// change about to be applied to it.
type View struct {
	Status string
	// Confirmed: the view came from /v2/contract/detail, not a callback.
	Confirmed bool
	// FetchedAt and FetchEndedAt are when the detail fetch that produced
	// the view began and ended (its answer was read). The platform's
	// answer reflects some instant in between, so two fetches order only
	// when one ended before the other began; overlapping fetches do not.
	// On a ledger row they are the newest fetch applied to (or
	// confirming) the row. FetchedAt is zero when unknown (callback-only
	// views, rows written before fetch times were recorded); a zero
	// FetchEndedAt with a FetchedAt takes the fetch as instantaneous.
	FetchedAt    time.Time
	FetchEndedAt time.Time
	// Signed counts the signatories done (see SignatoryDone).
	Signed int
	// Detail is the detail JSON, compared ignoring whitespace.
	Detail json.RawMessage
}

// fetchEnd is when v's fetch ended: FetchEndedAt, or FetchedAt when the
// end is unknown.
func (v *View) fetchEnd() time.Time {
	if v.FetchEndedAt.IsZero() {
		return v.FetchedAt
	}
	return v.FetchEndedAt
}

// Fetch order of a confirmed view next against a row old.
type fetchOrder int

const (
	orderUnknown fetchOrder = iota // old or next records no fetch time
	orderNewer                     // next's fetch began after old's ended
	orderOlder                     // next's fetch ended before old's began
	orderOverlap                   // the fetches overlap: either answer may be the newer
)

func orderOf(old *View, next View) fetchOrder {
	switch {
	case old.FetchedAt.IsZero() || next.FetchedAt.IsZero():
		return orderUnknown
	case next.FetchedAt.After(old.fetchEnd()):
		return orderNewer
	case next.fetchEnd().Before(old.FetchedAt):
		return orderOlder
	}
	return orderOverlap
}

// Advances reports whether next replaces old (nil for a contract not yet
// in the ledger). It is pure, so the same views decide the same way on
// every applier. With several appliers a detail fetched first may be
// committed last, and one that began first may be answered last, so fetch
// times order two views only when one fetch ended before the other began.
// In order:
//
//   - A confirmed next that is definitely older (its fetch ended before
//     the row's began) never replaces old: the row's fetch saw the
//     platform later. (Statuses only move forward but for the step back
//     below, so such a view moving up in rank can only undo a step back.)
//   - A terminal old status (IsTerminal) is never replaced by another
//     status; the same status may still be refined by the rules below.
//   - The one step back: a voiding (INVALIDING, TERMINATING) returns to
//     COMPLETE only when next is confirmed and definitely newer: its
//     fetch began after the row's ended (or the row records no fetch
//     time). How a voiding the other party refused (INVALID_REJECTED)
//     ends. A confirmed COMPLETE without a fetch time over a row with one
//     does not step back.
//   - Otherwise a different status advances when it ranks higher, whatever
//     the overlap of the fetches (platform statuses only move forward but
//     for the step back), and at the same rank only when next is
//     confirmed and old is not.
//   - The same status: a confirmed next replaces an unconfirmed old and
//     an unconfirmed next never replaces a confirmed old; otherwise next
//     replaces old when more signatories are done, or as many and the
//     detail differs (compared as compacted JSON).
//
// Stale tells when a refusal came from an overlap, so the view should be
// fetched again.
func Advances(old *View, next View) bool {
	ok, _ := decide(old, next)
	return ok
}

// Stale reports whether Advances refuses next only because its fetch
// overlapped the row's: the one step back (voiding to COMPLETE) by a
// confirmed view that is neither definitely newer nor definitely older
// than the row. Such a view may well be the newer one; the caller should
// fetch the contract again rather than drop the event.
func Stale(old *View, next View) bool {
	_, stale := decide(old, next)
	return stale
}

func decide(old *View, next View) (advances, stale bool) {
	if old == nil {
		return true, false
	}
	order := orderUnknown
	if next.Confirmed {
		order = orderOf(old, next)
	}
	if order == orderOlder {
		return false, false
	}
	if old.Status != next.Status {
		switch {
		case IsTerminal(old.Status):
			return false, false
		case Voiding(old.Status) && next.Status == Complete:
			if !next.Confirmed {
				return false, false
			}
			switch {
			case order == orderNewer || old.FetchedAt.IsZero():
				return true, false
			case order == orderOverlap:
				return false, true
			}
			return false, false // of unknown age
		}
		oldRank, nextRank := Rank(old.Status), Rank(next.Status)
		if nextRank != oldRank {
			return nextRank > oldRank, false
		}
		return next.Confirmed && !old.Confirmed, false
	}
	if old.Confirmed != next.Confirmed {
		return next.Confirmed, false
	}
	if next.Signed != old.Signed {
		return next.Signed > old.Signed, false
	}
	return !SameJSON(old.Detail, next.Detail), false
}

// Reconfirms reports whether next, which does not advance old, is a
// confirmed view of the same state (status, signatories done, detail)
// whose fetch began or ended after the row's: the row then records the
// later of each (Refetched), so a view of another state is compared with
// the newest sighting of the row's state.
func Reconfirms(old *View, next View) bool {
	return old != nil && next.Confirmed && old.Confirmed && !next.FetchedAt.IsZero() &&
		(next.FetchedAt.After(old.FetchedAt) || next.fetchEnd().After(old.fetchEnd())) &&
		old.Status == next.Status && old.Signed == next.Signed && SameJSON(old.Detail, next.Detail)
}

// Refetched is the fetch time a row records once next reconfirms it
// (Reconfirms): the later begin and the later end of the two fetches.
// Both fetches saw the row's state, so a view whose fetch began after the
// later end is newer than every sighting, and one that ended before the
// later begin is older than one.
func Refetched(old *View, next View) (began, ended time.Time) {
	began, ended = old.FetchedAt, old.fetchEnd()
	if next.FetchedAt.After(began) {
		began = next.FetchedAt
	}
	if e := next.fetchEnd(); e.After(ended) {
		ended = e
	}
	return began, ended
}

// SameJSON compares two JSON documents ignoring insignificant whitespace;
// invalid JSON is compared byte for byte.
func SameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Certification states: the words a certification's status is reduced
// to, whether it came from a callback (company 0 认证中 / 1 成功 / 2 失败;
// personal also 3 人工审核中; format B a callback type such as
// COMPANY_AUTH_SUCCESS, USER_AUTH_EXPIRED) or from the certification-result
// API, whose codes differ (qys.ReadCompanyAuthResult). They name ledger
// facts (qys.ledger.<tenant>.certification.<state>).
const (
	// CertNotSubmitted: the applicant has not submitted the certification
	// (company result 1 未提交).
	CertNotSubmitted = "NOT_SUBMITTED"
	// CertNotCertified: the API says the person is not real-name certified
	// (personal result realName false), without saying why.
	CertNotCertified = "NOT_CERTIFIED"
	CertInProgress   = "IN_PROGRESS"
	CertReview       = "REVIEW"
	CertFailed       = "FAILED"
	CertSuccess      = "SUCCESS"
	// CertExpired: a certification that has lapsed (company result 6
	// 已过期, format-B USER_AUTH_EXPIRED).
	CertExpired = "EXPIRED"
	// CertInvalid: a company certification the platform has invalidated
	// (format-B COMPANY_AUTH_INVALID).
	CertInvalid = "INVALID"
)

var certRanks = map[string]int{
	CertNotSubmitted: 0, CertNotCertified: 0, CertInProgress: 1, CertReview: 2,
	CertFailed: 3, CertSuccess: 4, CertExpired: 5, CertInvalid: 5,
}

// CertStates lists every certification state, lowest rank first.
var CertStates = []string{CertNotSubmitted, CertNotCertified, CertInProgress, CertReview, CertFailed,
	CertSuccess, CertExpired, CertInvalid}

// ValidCertState reports whether s is one of CertStates.
func ValidCertState(s string) bool {
	_, ok := certRanks[s]
	return ok
}

// CertState reduces a certification callback's status (as 契约锁 sends it
// in a callback, never a certification-result answer) and success flag to
// a state: a state word is kept; success wins; a format-B type ending in
// _EXPIRED is CertExpired and one ending in _INVALID CertInvalid; "2" or a
// status containing FAIL is CertFailed; "3" is CertReview; anything else
// (0, empty, unknown) is CertInProgress.
func CertState(status string, success bool) string {
	up := strings.ToUpper(status)
	switch {
	case ValidCertState(status) && !success:
		return status
	case success || status == "1" || strings.HasSuffix(up, "_AUTH_SUCCESS"):
		return CertSuccess
	case strings.HasSuffix(up, "_EXPIRED"):
		return CertExpired
	case strings.HasSuffix(up, "_INVALID"):
		return CertInvalid
	case status == "2" || strings.Contains(up, "FAIL"):
		return CertFailed
	case status == "3":
		return CertReview
	}
	return CertInProgress
}

// CertRank orders certification states: NOT_SUBMITTED, NOT_CERTIFIED 0 <
// IN_PROGRESS 1 < REVIEW 2 < FAILED 3 < SUCCESS 4 < EXPIRED, INVALID 5
// (final).
func CertRank(state string) int { return certRanks[state] }

// CertView is what CertAdvances compares of one certification.
type CertView struct {
	State string // a CertState
	// Confirmed: the view came from the certification-result API, not the
	// callback's word.
	Confirmed bool
}

// CertPending reports whether a certification must still be polled: it is
// not confirmed, or it is confirmed below FAILED (not submitted, not
// certified, in progress, in review). A failure may be retried by the
// person or company, but is not polled; SUCCESS, EXPIRED and INVALID are
// not polled.
func CertPending(v CertView) bool {
	return !v.Confirmed || CertRank(v.State) < CertRank(CertFailed)
}

// CertAdvances reports whether next replaces old (nil: not yet in the
// ledger). The API's word is the truth, and between two words of the same
// source a certification never regresses:
//
//   - The callback's word never replaces the API's: an unconfirmed next
//     never replaces a confirmed old.
//   - The API's word always replaces the callback's: a confirmed next
//     replaces an unconfirmed old whatever their states (a forged SUCCESS
//     callback is replaced by what the platform says).
//   - Otherwise a higher-ranked state advances; EXPIRED and INVALID are
//     final.
func CertAdvances(old *CertView, next CertView) bool {
	if old == nil {
		return true
	}
	if old.Confirmed != next.Confirmed {
		return next.Confirmed
	}
	return CertRank(next.State) > CertRank(old.State)
}
