package qys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/qyshook/qyshook/lifecycle"
)

// CodeAuthNotFound (1604 INVALID_AUTHID) is the platform's answer to a
// certification-result query for an id it does not know. Source: a
// secondary note paraphrasing the platform's documentation
// (docs/evidence.md, "Certification results"). The certification-result
// calls match it to ErrNotFound whatever WithNotFoundCodes says.
const CodeAuthNotFound = 1604

// Shapes of a certification-result answer (AuthReading.Shape and
// WithAuthResultShape).
const (
	// AuthShapeAuto recognises the answer's shape by the fields present
	// (the default).
	AuthShapeAuto = "auto"
	// AuthShapeDocumented is the shape the platform documents: company
	// status -1 none, 1 未提交, 2 通过, 3 不通过, 4 认证中, 6 已过期 with
	// basicStatus, basicReason, authEndTime, applicant fields; personal
	// realName (boolean) and mode.
	AuthShapeDocumented = "documented"
	// AuthShapeLegacy is the shape qyshook read before 2026-12 and some
	// deployments may answer: the callback's codes (company 0 认证中,
	// 1 成功, 2 失败; personal also 3 人工审核中) under status.
	AuthShapeLegacy = "legacy"
)

// ValidAuthShape reports whether s is AuthShapeAuto, AuthShapeDocumented or
// AuthShapeLegacy.
func ValidAuthShape(s string) bool {
	return s == AuthShapeAuto || s == AuthShapeDocumented || s == AuthShapeLegacy
}

// WithAuthResultShape sets how certification-result answers are read:
// AuthShapeAuto (default; by the fields present), AuthShapeDocumented or
// AuthShapeLegacy (one table of codes, whatever the fields).
func WithAuthResultShape(shape string) Option {
	return func(c *Client) error {
		if shape == "" {
			shape = AuthShapeAuto
		}
		if !ValidAuthShape(shape) {
			return fmt.Errorf("%w: auth result shape %q: want %s, %s or %s", ErrInvalidOption, shape,
				AuthShapeAuto, AuthShapeDocumented, AuthShapeLegacy)
		}
		c.authShape = shape
		return nil
	}
}

// UnrecognizedResult is AuthReading.Reason when an answer matches no known
// shape: it confirms nothing.
const UnrecognizedResult = "unrecognized_result"

// AuthReading is how qyshook reads one certification-result answer. It is
// never a guess: an answer that matches no known shape has State "" and
// Reason UnrecognizedResult, and must not be taken as success or failure.
type AuthReading struct {
	// Shape is the shape recognised (AuthShapeDocumented or
	// AuthShapeLegacy), "" when none.
	Shape string
	// State is the lifecycle certification state the answer says
	// (lifecycle.Cert*), "" when NotFound or unrecognised.
	State string
	// NotFound: the answer says the platform has no such certification
	// (company status -1).
	NotFound bool
	// Reason is UnrecognizedResult when the answer was not understood.
	Reason string
	// Detail says, in words, why it was read so (for doctor and logs; it
	// holds no personal data).
	Detail string
}

// Confirms reports whether the reading confirms a state.
func (r AuthReading) Confirms() bool { return r.State != "" }

func unrecognized(format string, a ...any) AuthReading {
	return AuthReading{Reason: UnrecognizedResult, Detail: fmt.Sprintf(format, a...)}
}

// companyDocumentedFields are fields only the documented company answer
// has; companyLegacyFields are those only the callback-shaped answer has.
var (
	companyDocumentedFields = []string{"basicStatus", "basicReason", "operAuthorizationReason", "authEndTime",
		"applicantName", "applicant"}
	companyLegacyFields = []string{"registerNo", "legalPerson"}
)

// Documented company result codes (status of /companyauth/result).
var companyDocumented = map[string]string{
	"1": lifecycle.CertNotSubmitted, "2": lifecycle.CertSuccess, "3": lifecycle.CertFailed,
	"4": lifecycle.CertInProgress, "6": lifecycle.CertExpired,
}

// Legacy (callback-coded) results.
var (
	companyLegacy  = map[string]string{"0": lifecycle.CertInProgress, "1": lifecycle.CertSuccess, "2": lifecycle.CertFailed}
	personalLegacy = map[string]string{"0": lifecycle.CertInProgress, "1": lifecycle.CertSuccess,
		"2": lifecycle.CertFailed, "3": lifecycle.CertReview}
)

// statusText returns a JSON number's or string's text ("" when absent or
// null; ok false when present in another shape).
func statusText(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", true
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		s = strings.TrimSpace(s)
		if _, err := strconv.Atoi(s); err != nil {
			return "", false
		}
		return s, true
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

// anyPresent reports whether obj has one of keys, whatever its value (a
// documented field sent as null still names the documented shape).
func anyPresent(obj map[string]json.RawMessage, keys []string) bool {
	for _, k := range keys {
		if _, ok := obj[k]; ok {
			return true
		}
	}
	return false
}

// ReadCompanyAuthResult reads the result object of /companyauth/result
// with shape (AuthShapeAuto when ""). In AuthShapeAuto the documented
// codes apply when a documented-only field is present (even null) or the
// status is one only the documented table has (-1, 3, 4, 6); the legacy
// codes only for status 0 (in progress, a code only the legacy table has)
// with a legacy-only field (registerNo, legalPerson). Anything else is
// unrecognised, in particular status 1 or 2 without a documented field
// whatever else is present: 1 means "not submitted" in one table and
// "success" in the other, so reading either needs the shape fixed
// (WithAuthResultShape).
func ReadCompanyAuthResult(result json.RawMessage, shape string) AuthReading {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(result, &obj); err != nil || obj == nil {
		return unrecognized("the result is not a JSON object")
	}
	status, ok := statusText(obj["status"])
	switch {
	case !ok:
		return unrecognized("status is not an integer")
	case status == "":
		return unrecognized("no status")
	}
	documented, legacy := anyPresent(obj, companyDocumentedFields), anyPresent(obj, companyLegacyFields)
	if shape == "" || shape == AuthShapeAuto {
		switch {
		case documented || status == "-1" || status == "3" || status == "4" || status == "6":
			shape = AuthShapeDocumented
		case legacy && status == "0":
			shape = AuthShapeLegacy
		default:
			return unrecognized("company status %s without the fields that tell the documented codes from the callback's", status)
		}
	}
	if shape == AuthShapeLegacy {
		if st := companyLegacy[status]; st != "" {
			return AuthReading{Shape: AuthShapeLegacy, State: st, Detail: "company status " + status + " read with the callback's codes"}
		}
		return unrecognized("company status %s is not a callback code (0, 1, 2)", status)
	}
	if status == "-1" {
		return AuthReading{Shape: AuthShapeDocumented, NotFound: true, Detail: "company status -1: no certification record"}
	}
	if st := companyDocumented[status]; st != "" {
		return AuthReading{Shape: AuthShapeDocumented, State: st, Detail: "company status " + status + " read with the documented codes"}
	}
	return unrecognized("company status %s is not a documented code (-1, 1, 2, 3, 4, 6)", status)
}

// ReadPersonalAuthResult reads the result object of
// /v2/personalauth/result with shape (AuthShapeAuto when ""): the
// documented answer's realName (a JSON boolean: true SUCCESS, false
// NOT_CERTIFIED). The legacy status (0, 1, 2, 3 with the callback's
// meanings) is read only with the shape fixed to AuthShapeLegacy: an
// answer without realName is unrecognised in AuthShapeAuto (mode is a
// documented field too, so nothing tells the tables apart).
func ReadPersonalAuthResult(result json.RawMessage, shape string) AuthReading {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(result, &obj); err != nil || obj == nil {
		return unrecognized("the result is not a JSON object")
	}
	realName, hasRealName := obj["realName"]
	realName = bytes.TrimSpace(realName)
	if hasRealName && string(realName) == "null" {
		hasRealName = false
	}
	if shape == "" || shape == AuthShapeAuto {
		shape = AuthShapeDocumented
	}
	if shape == AuthShapeDocumented {
		switch string(realName) {
		case "true":
			return AuthReading{Shape: AuthShapeDocumented, State: lifecycle.CertSuccess, Detail: "realName true"}
		case "false":
			return AuthReading{Shape: AuthShapeDocumented, State: lifecycle.CertNotCertified, Detail: "realName false"}
		}
		if !hasRealName {
			return unrecognized("no realName")
		}
		return unrecognized("realName is not a JSON boolean")
	}
	status, ok := statusText(obj["status"])
	switch {
	case !ok:
		return unrecognized("status is not an integer")
	case status == "":
		return unrecognized("neither realName nor status")
	}
	if st := personalLegacy[status]; st != "" {
		return AuthReading{Shape: AuthShapeLegacy, State: st, Detail: "personal status " + status + " read with the callback's codes"}
	}
	return unrecognized("personal status %s is not a callback code (0, 1, 2, 3)", status)
}

// CompanyAuthQuery selects a company certification: RequestID, or
// CompanyName when the request id is unknown.
type CompanyAuthQuery struct {
	RequestID   string
	CompanyName string
}

// CompanyAuthResult is the answer of /companyauth/result: Reading says
// what it means (ReadCompanyAuthResult), Raw is the `result` object as
// sent. The other fields are read from either shape when present.
type CompanyAuthResult struct {
	RequestID   string
	CompanyID   string
	CompanyName string
	RegisterNo  string
	LegalPerson string
	// Status is the answer's status as text (a JSON number's decimal
	// text; "" when absent). Its meaning depends on the shape: read
	// Reading, never Status.
	Status string
	// BasicStatus, BasicReason and AuthEndTime are the documented detail
	// fields, as text.
	BasicStatus string
	BasicReason string
	AuthEndTime string
	Reading     AuthReading
	Raw         json.RawMessage
}

// CompanyAuthResult calls GET /companyauth/result (企业认证-查询认证结果),
// or its SaaS variant (WithSaaSAuthPaths). An unknown request (code 1604,
// or another not-found answer) is an error matching ErrNotFound; a
// status -1 answer is not an error (Reading.NotFound).
func (c *Client) CompanyAuthResult(ctx context.Context, q CompanyAuthQuery) (*CompanyAuthResult, error) {
	if strings.TrimSpace(q.RequestID) == "" && strings.TrimSpace(q.CompanyName) == "" {
		return nil, fmt.Errorf("%w: company auth result: RequestID or CompanyName is required", ErrInvalidOption)
	}
	v := url.Values{}
	setNonEmpty(v, "requestId", q.RequestID)
	setNonEmpty(v, "companyName", q.CompanyName)
	path := PathCompanyAuthResult
	if c.saas != nil {
		path = c.saas.company
	}
	result, err := c.authResult(ctx, path, v)
	if err != nil {
		return nil, err
	}
	var res struct {
		RequestID   flexString `json:"requestId"`
		CompanyID   flexString `json:"companyId"`
		CompanyName flexString `json:"companyName"`
		Name        flexString `json:"name"`
		RegisterNo  flexString `json:"registerNo"`
		LegalPerson flexString `json:"legalPerson"`
		Status      flexString `json:"status"`
		BasicStatus flexString `json:"basicStatus"`
		BasicReason flexString `json:"basicReason"`
		AuthEndTime flexString `json:"authEndTime"`
	}
	// A result that is not an object is kept and read as unrecognised.
	_ = json.Unmarshal(result, &res)
	out := &CompanyAuthResult{RequestID: res.RequestID.v, CompanyID: res.CompanyID.v,
		CompanyName: res.CompanyName.v, RegisterNo: res.RegisterNo.v, LegalPerson: res.LegalPerson.v,
		Status: res.Status.v, BasicStatus: res.BasicStatus.v, BasicReason: res.BasicReason.v,
		AuthEndTime: res.AuthEndTime.v, Raw: append(json.RawMessage(nil), result...)}
	if out.CompanyName == "" {
		out.CompanyName = res.Name.v
	}
	out.Reading = ReadCompanyAuthResult(out.Raw, c.authShape)
	return out, nil
}

// PersonalAuthQuery selects a personal certification: AuthID, or Contact
// with ContactType (ContactMobile or ContactEmail).
type PersonalAuthQuery struct {
	AuthID      string
	Contact     string
	ContactType string
}

// PersonalAuthResult is the answer of /v2/personalauth/result: Reading
// says what it means (ReadPersonalAuthResult), Raw is the `result` object
// as sent.
type PersonalAuthResult struct {
	AuthID string
	Mode   string // IVS, FACEID, BANK, MANUAL (documented)
	// RealName is the documented answer's realName; nil when absent.
	RealName *bool
	// Status is a legacy answer's status as text ("" when absent).
	Status  string
	Reading AuthReading
	Raw     json.RawMessage
}

// PersonalAuthResult calls GET /v2/personalauth/result (个人认证-查询个人认证
// 状态), or its SaaS variant (WithSaaSAuthPaths). An unknown authId (code
// 1604) is an error matching ErrNotFound.
func (c *Client) PersonalAuthResult(ctx context.Context, q PersonalAuthQuery) (*PersonalAuthResult, error) {
	v := url.Values{}
	switch {
	case strings.TrimSpace(q.AuthID) != "":
		v.Set("authId", q.AuthID)
	case strings.TrimSpace(q.Contact) != "":
		if q.ContactType != ContactMobile && q.ContactType != ContactEmail {
			return nil, fmt.Errorf("%w: personal auth result: ContactType must be %s or %s", ErrInvalidOption, ContactMobile, ContactEmail)
		}
		v.Set("contact", q.Contact)
		v.Set("contactType", q.ContactType)
	default:
		return nil, fmt.Errorf("%w: personal auth result: AuthID or Contact is required", ErrInvalidOption)
	}
	path := c.apiPath(PathPersonalAuthResult)
	if c.saas != nil {
		path = c.saas.personal
	}
	result, err := c.authResult(ctx, path, v)
	if err != nil {
		return nil, err
	}
	var res struct {
		AuthID   flexString      `json:"authId"`
		Mode     flexString      `json:"mode"`
		Status   flexString      `json:"status"`
		RealName json.RawMessage `json:"realName"`
	}
	// A result that is not an object is kept and read as unrecognised.
	_ = json.Unmarshal(result, &res)
	out := &PersonalAuthResult{AuthID: res.AuthID.v, Mode: res.Mode.v, Status: res.Status.v,
		Raw: append(json.RawMessage(nil), result...)}
	if v := string(bytes.TrimSpace(res.RealName)); v == "true" || v == "false" {
		b := v == "true"
		out.RealName = &b // a realName that is not a JSON boolean is left to the reading
	}
	out.Reading = ReadPersonalAuthResult(out.Raw, c.authShape)
	return out, nil
}

// authResult calls a certification-result path and returns its result
// object (an unknown id is ErrNotFound).
func (c *Client) authResult(ctx context.Context, path string, v url.Values) (json.RawMessage, error) {
	env, err := c.getJSON(ctx, path, v)
	if err != nil {
		return nil, authNotFound(err)
	}
	if isJSONNull(env.Result) {
		return nil, fmt.Errorf("qys: %s: response has no result", path)
	}
	return env.Result, nil
}

// authNotFound makes code 1604 match ErrNotFound even when the client's
// not-found codes were replaced.
func authNotFound(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == CodeAuthNotFound && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
