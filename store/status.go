package store

import "github.com/qyshook/qyshook/lifecycle"

// Contract statuses: aliases of the lifecycle package's (the one place
// they are defined, ranked and classified), kept for existing callers.
const (
	StatusDraft       = lifecycle.Draft
	StatusFilling     = lifecycle.Filling
	StatusSigning     = lifecycle.Signing
	StatusComplete    = lifecycle.Complete
	StatusRejected    = lifecycle.Rejected
	StatusRecalled    = lifecycle.Recalled
	StatusExpired     = lifecycle.Expired
	StatusFailed      = lifecycle.Failed
	StatusForceEnd    = lifecycle.ForceEnd
	StatusEnd         = lifecycle.End
	StatusDelete      = lifecycle.Delete
	StatusFinished    = lifecycle.Finished
	StatusInvaliding  = lifecycle.Invaliding
	StatusInvalided   = lifecycle.Invalided
	StatusTerminating = lifecycle.Terminating
	StatusTerminated  = lifecycle.Terminated
)

// Progress counts the signatories of c that have signed
// (lifecycle.SignatoryDone).
func Progress(c *Contract) int {
	n := 0
	for _, s := range c.Signatories {
		if lifecycle.SignatoryDone(s.Status) {
			n++
		}
	}
	return n
}

// View is what lifecycle.Advances compares of c: status, confirmed, fetch
// time, signatories done (Progress) and detail.
func (c *Contract) View() lifecycle.View {
	return lifecycle.View{Status: c.Status, Confirmed: c.Confirmed, FetchedAt: c.FetchedAt, Signed: Progress(c), Detail: c.Detail}
}

// Advances reports whether the change next replaces the ledger row old
// (nil for a contract not yet in the ledger): lifecycle.Advances on their
// views. It refuses a confirmed next fetched before the row's FetchedAt
// (or without a fetch time over a row that has one); otherwise it lets a
// status move only forward in lifecycle.Rank (never out of a terminal
// status; from INVALIDING or TERMINATING back to COMPLETE only when next
// is confirmed), and within one status lets a confirmed view replace an
// unconfirmed one, more signatories done replace fewer, and a different
// detail replace an equal one. It does not decide fields left empty in
// next: the store keeps old's for those.
func Advances(old, next *Contract) bool {
	if next == nil {
		return false
	}
	if old == nil {
		return true
	}
	ov := old.View()
	return lifecycle.Advances(&ov, next.View())
}

// Reconfirms reports whether next, which does not advance old, is a
// confirmed view of the same state fetched later (lifecycle.Reconfirms):
// the store then records next's FetchedAt on the row.
func Reconfirms(old, next *Contract) bool {
	if old == nil || next == nil {
		return false
	}
	ov := old.View()
	return lifecycle.Reconfirms(&ov, next.View())
}
