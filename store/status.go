package store

import (
	"bytes"
	"encoding/json"
)

// Contract statuses of 契约锁 that the ledger orders. Any other status is
// treated as in progress (rank 2).
const (
	StatusDraft       = "DRAFT"
	StatusFilling     = "FILLING"
	StatusSigning     = "SIGNING"
	StatusComplete    = "COMPLETE"
	StatusRejected    = "REJECTED"
	StatusRecalled    = "RECALLED"
	StatusExpired     = "EXPIRED"
	StatusFailed      = "FAILED"
	StatusForceEnd    = "FORCE_END"
	StatusEnd         = "END"
	StatusDelete      = "DELETE"
	StatusFinished    = "FINISHED"
	StatusInvaliding  = "INVALIDING"
	StatusInvalided   = "INVALIDED"
	StatusTerminating = "TERMINATING"
	StatusTerminated  = "TERMINATED"
)

var statusRanks = map[string]int{
	StatusDraft:       0,
	StatusFilling:     1,
	StatusSigning:     2,
	StatusComplete:    3,
	StatusRejected:    3,
	StatusRecalled:    3,
	StatusExpired:     3,
	StatusFailed:      3,
	StatusForceEnd:    3,
	StatusEnd:         3,
	StatusDelete:      3,
	StatusFinished:    3,
	StatusInvaliding:  4,
	StatusTerminating: 4,
	StatusInvalided:   5,
	StatusTerminated:  5,
}

// StatusRank orders contract statuses: DRAFT 0 < FILLING 1 < SIGNING 2 <
// the ends (COMPLETE, REJECTED, RECALLED, EXPIRED, FAILED, FORCE_END, END,
// DELETE, FINISHED) 3 < INVALIDING, TERMINATING 4 < INVALIDED, TERMINATED 5.
// An unknown status ranks 2, as a contract still in progress.
func StatusRank(status string) int {
	if r, ok := statusRanks[status]; ok {
		return r
	}
	return 2
}

// IsTerminal reports whether nothing moves a contract out of status: every
// rank-3 end except COMPLETE (which may still be invalidated or
// terminated), and the rank-5 states.
func IsTerminal(status string) bool {
	r, known := statusRanks[status]
	return known && (r == 3 && status != StatusComplete || r == 5)
}

// signedStatuses are the signatory statuses counted as done.
var signedStatuses = map[string]bool{"COMPLETE": true, "SIGNED": true, "FINISHED": true}

// Progress counts the signatories of c that have signed (status COMPLETE,
// SIGNED or FINISHED).
func Progress(c *Contract) int {
	n := 0
	for _, s := range c.Signatories {
		if signedStatuses[s.Status] {
			n++
		}
	}
	return n
}

// Advances reports whether next moves the ledger forward from old (nil for
// a contract not yet in the ledger). It is deterministic and pure, so
// events applied in any order converge:
//
//   - A terminal status (IsTerminal) is never replaced by another status;
//     the same status may still be refined by the rules for equal statuses.
//   - The one permitted step back: INVALIDING (TERMINATING in private cloud
//     4.0) returns to COMPLETE when the API says so (next.Confirmed), which
//     is how an invalidation the other party rejected (INVALID_REJECTED)
//     ends.
//   - Otherwise a higher StatusRank advances and a lower one does not.
//   - A different status of the same rank advances only when next is
//     confirmed and old is not: the API's word beats a callback's.
//   - The same status: a confirmed next replaces an unconfirmed old, an
//     unconfirmed next never replaces a confirmed old; otherwise next
//     advances when it carries more Progress, or the same Progress and a
//     different detail (compared as compacted JSON).
func Advances(old, next *Contract) bool {
	if old == nil {
		return next != nil
	}
	if next == nil {
		return false
	}
	if old.Status != next.Status {
		switch {
		case IsTerminal(old.Status):
			return false
		case (old.Status == StatusInvaliding || old.Status == StatusTerminating) && next.Status == StatusComplete:
			return next.Confirmed
		}
		oldRank, nextRank := StatusRank(old.Status), StatusRank(next.Status)
		if nextRank != oldRank {
			return nextRank > oldRank
		}
		return next.Confirmed && !old.Confirmed
	}
	if old.Confirmed != next.Confirmed {
		return next.Confirmed
	}
	oldProgress, nextProgress := Progress(old), Progress(next)
	if nextProgress != oldProgress {
		return nextProgress > oldProgress
	}
	return !sameJSON(old.Detail, next.Detail)
}

// sameJSON compares two JSON documents ignoring insignificant whitespace;
// invalid JSON is compared byte for byte.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
