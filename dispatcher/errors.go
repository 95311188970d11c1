package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// permanentError marks a failure that no retry can fix.
type permanentError struct {
	reason string
	err    error
}

func (e *permanentError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanent wraps err as a permanent failure with a short reason code.
func permanent(reason string, err error) error { return &permanentError{reason: reason, err: err} }

// Reason codes used in metrics and dead letters.
const (
	reasonUndecodable     = "undecodable_event"
	reasonUnknownContract = "contract_not_found"
	reasonExhausted       = "retries_exhausted"
	reasonAPI             = "api_error"
	reasonStore           = "store_error"
	reasonTimeout         = "timeout"
	reasonStaleFetch      = "stale_fetch"
	// reasonRateLimited: 契约锁 answered rate limited (429 or 11990006), or
	// the call ran out of time waiting for the tenant's API budget. Such
	// an event is delivered again without end, never dead-lettered: the
	// platform is pacing us, nothing is wrong with the event.
	reasonRateLimited = "rate_limited"
	// reasonUnstorable: the envelope holds a value the ledger cannot store
	// (checkStorable); permanent.
	reasonUnstorable = "unstorable_value"
	// reasonRejected: the database refused the values for good
	// (store.ErrRejected); permanent.
	reasonRejected = "store_rejected"
	// reasonDiskFull: a write failed for want of disk space (the ledger's
	// disk, or the operating system's ENOSPC, EDQUOT, EFBIG, EROFS);
	// transient, and retried for as long as it lasts, never dead-lettered.
	reasonDiskFull = "disk_full"
)

// errStaleFetch: the ledger refused a detail because its fetch overlapped
// the one behind the row (store.Applied.Stale); a transient failure, so the
// event is delivered again and the contract fetched anew.
var errStaleFetch = errors.New("detail fetch overlapped the ledger's; fetching again")

// classify returns whether err is permanent and a reason code for it.
func classify(err error) (isPermanent bool, reason string) {
	var pe *permanentError
	switch {
	case errors.As(err, &pe):
		return true, pe.reason
	case store.IsDiskFull(err):
		return false, reasonDiskFull
	case errors.Is(err, store.ErrRejected):
		return true, reasonRejected
	case errors.Is(err, events.ErrInvalidEnvelope):
		return true, reasonUndecodable
	case errors.Is(err, qys.ErrNotFound):
		return true, reasonUnknownContract
	case errors.Is(err, errStaleFetch):
		return false, reasonStaleFetch
	case errors.Is(err, qys.ErrRateLimited), errors.Is(err, qys.ErrBudgetWait):
		return false, reasonRateLimited
	case errors.Is(err, context.DeadlineExceeded):
		return false, reasonTimeout
	case errors.Is(err, qys.ErrServer), errors.Is(err, qys.ErrUnauthorized),
		errors.Is(err, qys.ErrTruncated):
		return false, reasonAPI
	case store.IsTransient(err):
		return false, reasonStore
	}
	// A bare system-call error (syscall.Errno has Timeout and Temporary,
	// so it is a net.Error too) is not the API's: network failures come
	// wrapped in *net.OpError or *url.Error.
	var ne net.Error
	if errors.As(err, &ne) {
		if _, bare := ne.(syscall.Errno); !bare {
			return false, reasonAPI
		}
	}
	var ae *qys.APIError
	if errors.As(err, &ae) {
		return false, reasonAPI
	}
	return false, "error"
}

// platformCode is the platform's error code in err ("" without one): the
// numeric code, else the HTTP status as "http <n>".
func platformCode(err error) string {
	var ae *qys.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	if ae.Code != 0 {
		return strconv.Itoa(ae.Code)
	}
	if ae.HTTPStatus != 0 {
		return "http " + strconv.Itoa(ae.HTTPStatus)
	}
	return ""
}

// Backoff computes redelivery delays: exponential from Base, capped at
// Max, with full jitter (a uniformly random delay up to the exponential
// value, but at least Base/2), because a NAK ignores the consumer's BackOff
// list.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Delay returns the delay before delivery attempt n+1 (n >= 1).
func (b Backoff) Delay(n uint64) time.Duration {
	base, max := b.Base, b.Max
	if base <= 0 {
		base = time.Second
	}
	if max < base {
		max = base
	}
	d := backoff.Exponential(base, max, int(min(n, 64))-1)
	low := base / 2
	if d <= low {
		return d
	}
	return low + backoff.Jitter(d-low, 0)
}

func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
