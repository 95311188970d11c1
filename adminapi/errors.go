package adminapi

// Prefix starts every path of this API version.
const Prefix = "/api/v1"

// Page sizes of the listings (?limit=).
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Error codes of the error answer.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeConflict answers a write that collides with one in progress (a
	// reconcile pass running, a confirm token already spent).
	CodeConflict    = "conflict"
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
	// CodeTooManyRequests answers a source that failed to authenticate
	// too often (429 with Retry-After), before its token is compared.
	CodeTooManyRequests = "too_many_requests"
)

// Error is a failure a client may see: its code and a safe message. The
// Client returns it, with the HTTP status, for every answer in the error
// shape.
type Error struct {
	// Status is the HTTP status of the answer (set by the Client; not on
	// the wire).
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrorBody is the answer of every failed request: {"error": {...}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Page is one page of a listing. NextCursor, when not empty, is passed
// back unchanged as ?cursor= for the next page; it is empty on the last.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}
