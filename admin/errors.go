package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/store"
)

// codeStatus maps the error codes (package adminapi) to HTTP statuses.
var codeStatus = map[string]int{
	adminapi.CodeBadRequest:       http.StatusBadRequest,
	adminapi.CodeUnauthorized:     http.StatusUnauthorized,
	adminapi.CodeForbidden:        http.StatusForbidden,
	adminapi.CodeNotFound:         http.StatusNotFound,
	adminapi.CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	adminapi.CodeConflict:         http.StatusConflict,
	adminapi.CodeUnavailable:      http.StatusServiceUnavailable,
	adminapi.CodeInternal:         http.StatusInternalServerError,
	adminapi.CodeTooManyRequests:  http.StatusTooManyRequests,
}

// errorf returns an *adminapi.Error with a formatted message.
func errorf(code, format string, args ...any) *adminapi.Error {
	return &adminapi.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// badRequest is the 400 of a query parameter.
func badRequest(param, format string, args ...any) *adminapi.Error {
	return errorf(adminapi.CodeBadRequest, "%s: "+format, append([]any{param}, args...)...)
}

// writeError answers err in the error shape. An *adminapi.Error is shown as is;
// store.ErrNotFound is a 404; anything else is logged here, once, and
// shown as an internal error without its text.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *adminapi.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrNotFound):
		e = errorf(adminapi.CodeNotFound, "not found")
	default:
		hlog.FromRequest(r).Error().Err(err).Str("path", r.URL.Path).Msg("admin request failed")
		e = errorf(adminapi.CodeInternal, "internal error; see the server log")
	}
	status := codeStatus[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="qyshook-admin"`)
	}
	writeJSON(w, status, adminapi.ErrorBody{Error: e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
