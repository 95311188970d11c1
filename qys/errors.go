package qys

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors of the open-API client. An *APIError matches them with
// errors.Is according to its code and HTTP status.
var (
	// ErrUnauthorized: missing or invalid auth headers (codes 441/442, HTTP 401/403).
	ErrUnauthorized = errors.New("qys: unauthorized")
	// ErrRateLimited: 11990006 "接口调用频繁", or HTTP 429.
	ErrRateLimited = errors.New("qys: rate limited")
	// ErrNotFound: the contract or document does not exist (HTTP 404, or a
	// not-found code; see NotFoundCodes).
	ErrNotFound = errors.New("qys: not found")
	// ErrInvalidParam: 1000001 or another parameter error.
	ErrInvalidParam = errors.New("qys: invalid parameter")
	// ErrServer: HTTP 5xx from the platform.
	ErrServer = errors.New("qys: server error")
	// ErrInvalidOption is wrapped by NewClient for a bad option or argument.
	ErrInvalidOption = errors.New("qys: invalid option")
	// ErrTruncated: a download ended before its Content-Length.
	ErrTruncated = errors.New("qys: download truncated")
	// ErrBudgetWait: the call's ctx ended while it waited for its place in
	// the client's Budget (WithBudget); the platform was not called. The
	// error also wraps the ctx's error.
	ErrBudgetWait = errors.New("qys: ended while waiting for the API budget")
	// ErrBudgetStopped: the call stopped waiting for its budget because
	// the caller is stopping (StopBudgetWaits); wrapped with ErrBudgetWait.
	ErrBudgetStopped = errors.New("qys: stopping")
)

// Known platform codes.
const (
	CodeSuccess            = 0
	CodeMissingHeader      = 441
	CodeInvalidToken       = 442
	CodeUnknownError       = 1000000
	CodeParamError         = 1000001
	CodeRateLimited        = 11990006
	ResponseCodeSuccess    = "00000000"
	ResponseCodeRateLimit  = "11990006"
	CodeContractNotFound   = 1100001 // chosen by qyshook; see NotFoundCodes
	CodeDocumentNotFound   = 1100002 // chosen by qyshook; see NotFoundCodes
	codeFirstServerFailure = 500
)

// NotFoundCodes are the envelope codes treated as ErrNotFound. The public
// error table could not be retrieved (docs/qys-protocol.md §1.5), so the
// platform's real not-found codes are not known; HTTP 404 always counts.
// Add codes here (or with WithNotFoundCodes) when 契约锁 documents them.
var NotFoundCodes = []int{CodeContractNotFound, CodeDocumentNotFound, CodeAuthNotFound}

// APIError is a failure answered by the open API: a non-zero envelope code,
// or an HTTP error status. The body is read even for 4xx answers.
type APIError struct {
	HTTPStatus   int
	Code         int
	ResponseCode string
	Message      string
	// Path is the API path called (no query: ids stay out of errors).
	Path string
	// Raw is the answer's body exactly as sent (bounded like every JSON
	// answer), for callers that must keep the platform's own words (a
	// refusal recorded as evidence). Error() never includes it.
	Raw []byte

	notFound   []int
	retryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("qys: %s: code %d (http %d): %s", e.Path, e.Code, e.HTTPStatus, e.Message)
}

// Is matches the sentinels above by code and status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Code == CodeMissingHeader || e.Code == CodeInvalidToken ||
			e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden
	case ErrRateLimited:
		return e.Code == CodeRateLimited || e.ResponseCode == ResponseCodeRateLimit ||
			e.HTTPStatus == http.StatusTooManyRequests
	case ErrNotFound:
		if e.HTTPStatus == http.StatusNotFound {
			return true
		}
		codes := e.notFound
		if codes == nil {
			codes = NotFoundCodes
		}
		for _, c := range codes {
			if e.Code == c {
				return true
			}
		}
	case ErrInvalidParam:
		return e.Code == CodeParamError
	case ErrServer:
		return e.HTTPStatus >= codeFirstServerFailure
	}
	return false
}

// Temporary reports whether retrying later may succeed: 5xx and rate
// limiting. Auth, parameter and not-found failures are permanent.
func (e *APIError) Temporary() bool {
	return errors.Is(e, ErrServer) || errors.Is(e, ErrRateLimited) || e.Code == CodeUnknownError
}

// Callback verification errors. The receiver answers 401 for the first
// three and 400 for the rest.
var (
	ErrMissingSignature = errors.New("qys: callback: missing signature")
	ErrBadSignature     = errors.New("qys: callback: signature does not match")
	ErrStale            = errors.New("qys: callback: timestamp outside the accepted window")
	ErrDecrypt          = errors.New("qys: callback: cannot decrypt content")
	ErrMalformed        = errors.New("qys: callback: malformed")
	ErrMissingContract  = errors.New("qys: callback: missing contractId")
	// ErrMissingRequestID: a certification callback without requestId
	// (company), authId (personal) or the format-B user/company id.
	ErrMissingRequestID = errors.New("qys: callback: certification without a request id")
)
