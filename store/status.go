package store

import "github.com/qyshook/qyshook/lifecycle"

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
// times, signatories done (Progress) and detail.
func (c *Contract) View() lifecycle.View {
	return lifecycle.View{Status: c.Status, Confirmed: c.Confirmed, FetchedAt: c.FetchedAt, FetchEndedAt: c.FetchEndedAt,
		Signed: Progress(c), Detail: c.Detail}
}

// Advances reports whether the change next replaces the ledger row old
// (nil for a contract not yet in the ledger): lifecycle.Advances on their
// views. Fetch times order two views only when one fetch ended before
// the other began. It refuses a confirmed next that is definitely older
// (its fetch ended before the row's began); otherwise it lets a status
// move only forward in lifecycle.Rank, whatever the fetch times (never out
// of a terminal status; from INVALIDING or TERMINATING back to COMPLETE
// only when next is confirmed and its fetch began after the row's ended,
// or the row has no fetch time), and within one status lets a confirmed
// view replace an unconfirmed one, more signatories done replace fewer,
// and a different detail replace an equal one. It does not decide fields
// left empty in next: the store keeps old's for those. Stale tells a
// refusal caused by overlapping fetches.
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

// Stale reports whether Advances refuses next only because its fetch
// overlapped the row's (lifecycle.Stale): the caller should fetch again.
func Stale(old, next *Contract) bool {
	if old == nil || next == nil {
		return false
	}
	ov := old.View()
	return lifecycle.Stale(&ov, next.View())
}

// Reconfirms reports whether next, which does not advance old, is a
// confirmed view of the same state fetched later (lifecycle.Reconfirms):
// the store then records the later fetch times (lifecycle.Refetched).
func Reconfirms(old, next *Contract) bool {
	if old == nil || next == nil {
		return false
	}
	ov := old.View()
	return lifecycle.Reconfirms(&ov, next.View())
}
