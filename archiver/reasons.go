package archiver

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// Reasons of a failed download: the reason label of
// qyshook_archive_failures_total and the reason field of its log line.
const (
	// ReasonDiskFull: the document or the ledger could not be written for
	// want of disk space (store.IsDiskFull). Retried with backoff for as
	// long as it lasts: it never counts toward MaxAttempts.
	ReasonDiskFull = "disk_full"
	// ReasonNotFound: the platform has no such document (permanent).
	ReasonNotFound = "not_found"
	// ReasonTooLarge: the document is over the document store's limit (permanent).
	ReasonTooLarge = "too_large"
	// ReasonNoAPI: the tenant has no open-API credentials (permanent).
	ReasonNoAPI = "no_api"
	// ReasonRateLimited: 契约锁 answered rate limited (429, 11990006), or
	// the tenant's API budget had no room before the deadline. Never ends
	// the document failed.
	ReasonRateLimited = "rate_limited"
	// ReasonAPI: the platform failed or cut the download.
	ReasonAPI = "api_error"
	// ReasonStore: the ledger failed transiently.
	ReasonStore = "store_error"
	// ReasonTimeout: the download ran out of time.
	ReasonTimeout = "timeout"
	// ReasonOther: anything else.
	ReasonOther = "error"
)

// failureReason names why a download failed.
func failureReason(err error) string {
	switch {
	case store.IsDiskFull(err):
		return ReasonDiskFull
	case errors.Is(err, qys.ErrNotFound):
		return ReasonNotFound
	case errors.Is(err, docstore.ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, errNoAPI):
		return ReasonNoAPI
	case errors.Is(err, qys.ErrRateLimited), errors.Is(err, qys.ErrBudgetWait):
		return ReasonRateLimited
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case store.IsTransient(err):
		return ReasonStore
	}
	var ae *qys.APIError
	if errors.As(err, &ae) || errors.Is(err, qys.ErrTruncated) {
		return ReasonAPI
	}
	// A bare system-call error is a net.Error too; the network's come
	// wrapped in *net.OpError or *url.Error.
	var ne net.Error
	if errors.As(err, &ne) {
		if _, bare := ne.(syscall.Errno); !bare {
			return ReasonAPI
		}
	}
	return ReasonOther
}
