package receiver

import (
	"errors"
	"net/http"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/qys"
)

// answer is how one class of error is told to the caller: a status, a
// stable code (also the metric label) and a message safe to show.
type answer struct {
	err     error
	status  int
	code    string
	message string
	// verification marks refusals counted as verification failures.
	verification bool
}

// answers is the one table from error to HTTP answer (DESIGN.md). The
// first entry whose err matches with errors.Is wins; anything else is a
// 500 (verification fails closed).
var answers = []answer{
	{errUnknownTenant, http.StatusUnauthorized, "unknown_tenant", "unknown tenant", true},
	{qys.ErrMissingSignature, http.StatusUnauthorized, "missing_signature", "the callback carries no signature", true},
	{qys.ErrBadSignature, http.StatusUnauthorized, "bad_signature", "the signature does not match", true},
	{qys.ErrStale, http.StatusUnauthorized, "stale", "the timestamp is outside the accepted window", true},
	// Decryption and decoding failures share one answer: telling them apart
	// would make the endpoint a padding oracle for unauthenticated CBC
	// content (format B). The log at debug level keeps the difference.
	{qys.ErrDecrypt, http.StatusBadRequest, "invalid_content", "the content cannot be decrypted or decoded", true},
	{qys.ErrMissingContract, http.StatusBadRequest, "missing_contract", "the callback has no contract id", true},
	{qys.ErrMissingRequestID, http.StatusBadRequest, "missing_request_id", "the certification callback has no request id", true},
	{qys.ErrMalformed, http.StatusBadRequest, "invalid_content", "the content cannot be decrypted or decoded", true},
	{qys.ErrInvalidValue, http.StatusBadRequest, "invalid_value", "a field holds a NUL byte, invalid UTF-8 or an over-long id", true},
	{errUnknownKind, http.StatusNotFound, "unknown_kind", "unknown notice kind (seal-audit, personal-sign-auth, company-authorization, physical-seal)", false},
	{errTooLarge, http.StatusRequestEntityTooLarge, "too_large", "the body is over the limit", false},
	{errReadBody, http.StatusBadRequest, "read_body", "the body could not be read", false},
	{errUnavailable, http.StatusServiceUnavailable, "unavailable", "the callback could not be stored; retry later", false},
}

var internalAnswer = answer{status: http.StatusInternalServerError, code: "internal", message: "internal error"}

func answerFor(err error) answer {
	for _, a := range answers {
		if errors.Is(err, a.err) {
			return a
		}
	}
	return internalAnswer
}

// count adds one to series of tenant in the activity, when there is one.
func (rc *Receiver) count(series, tenant string) {
	if rc.activity != nil {
		rc.activity.Add(series, tenant, 1)
	}
}

// refuse answers a callback that was not stored, counts it, and logs the
// error once. 4xx are logged at warn with the code only (verification
// errors may quote the callback); the error text goes to debug. 5xx are
// logged with the error.
func (rc *Receiver) refuse(w http.ResponseWriter, r *http.Request, route, tenant string, err error) {
	a := answerFor(err)
	rc.metrics.requests.WithLabelValues(route, tenant, a.code).Inc()
	rc.count(activity.Refused, tenant)
	if a.verification {
		rc.metrics.verifyFailures.WithLabelValues(tenant, a.code).Inc()
	}
	log := hlog.FromRequest(r)
	var ev *zerolog.Event
	if a.status >= http.StatusInternalServerError {
		ev = log.Error().Err(err)
	} else {
		ev = log.Warn()
		if log.GetLevel() <= zerolog.DebugLevel {
			ev = ev.Err(err)
		}
	}
	ev.Str("tenant", tenant).Str("route", route).Str("error_code", a.code).Int("status", a.status).Msg("callback refused")
	writeJSON(w, a.status, `{"error":"`+a.code+`","message":"`+a.message+`"}`)
}

// Answers to the notices (docs/qys-callbacks.md gives the evidence).
const (
	// answerSealAudit carries both readings of the documented
	// {"responseCode":00000000} (not valid JSON as quoted) and code 0.
	answerSealAudit = `{"code":0,"responseCode":"00000000","message":"SUCCESS"}`
	// answerCodeZero is the physical seal's documented answer.
	answerCodeZero = `{"code":0,"message":"SUCCESS"}`
)

// writeSuccess answers a stored callback as 契约锁 expects: the text
// "success" for contract callbacks; for certification callbacks the
// tenant's choice, JSON code 0 by default. Notices: the seal audit
// answerSealAudit; the personal signing authorisation (any status below
// 400 is success) "success"; the company authorisation, whose answer is
// not documented, as certifications; the physical seal JSON code 0.
func writeSuccess(w http.ResponseWriter, kind qys.Kind, format qys.Format, auth AuthAnswer) {
	switch kind {
	case qys.KindSealAudit:
		if format != qys.FormatB {
			writeJSON(w, http.StatusOK, answerSealAudit)
			return
		}
	case qys.KindPhysicalSeal:
		writeJSON(w, http.StatusOK, answerCodeZero) // format C, whatever the tenant's format
		return
	case qys.KindPersonalSignAuth:
		auth = AuthAnswerSuccess
	}
	// Format B posts every kind to one URL and expects plain "success".
	if kind == qys.KindContract || format == qys.FormatB || auth == AuthAnswerSuccess {
		w.Header()["Content-Type"] = textPlain
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("success"))
		return
	}
	writeJSON(w, http.StatusOK, answerCodeZero)
}

// writeJSON writes a constant JSON body (codes and messages come from the
// table above, never from the request).
func writeJSON(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h["Content-Type"], h["X-Content-Type-Options"] = applicationJSON, nosniff
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Answer header values, shared by every answer (net/http only reads
// them; keys already canonical): no allocation per answer.
var (
	textPlain       = []string{"text/plain; charset=utf-8"}
	applicationJSON = []string{"application/json"}
	nosniff         = []string{"nosniff"}
)
