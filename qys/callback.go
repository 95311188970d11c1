package qys

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Callback types with a meaning to this package.
const (
	// CallbackTypeCheck is format B's URL check: answer success, store nothing.
	CallbackTypeCheck = "CALLBACK_CHECK"
	// CallbackTypeAuth is the CallbackType of auth callbacks that send none.
	CallbackTypeAuth = "AUTH"
)

// Auth status values of format A ("1" means success for both kinds).
const (
	AuthStatusInProgress = "0" // company: 认证中
	AuthStatusSuccess    = "1" // company: 成功; personal: 通过
	AuthStatusFailed     = "2" // company: 失败; personal: 不通过
	AuthStatusReview     = "3" // personal: 人工审核中
)

// kindOfTypeB maps a format-B callbackType to its kind ("" if unknown).
func kindOfTypeB(typ string) Kind {
	switch {
	case strings.HasPrefix(typ, "USER_AUTH_"):
		return KindAuthPersonal
	case strings.HasPrefix(typ, "COMPANY_AUTH_"):
		return KindAuthCompany
	case strings.HasPrefix(typ, "CONTRACT_"):
		return KindContract
	}
	return ""
}

// classify fills cb from the decoded payload obj for kind. Unknown
// callback types and unknown fields are not errors.
func classify(cb *Callback, kind Kind, obj map[string]json.RawMessage) error {
	cb.CallbackType = str(obj, "callbackType")
	if cb.Format == FormatB {
		if k := kindOfTypeB(cb.CallbackType); k != "" {
			kind = k
		}
	}
	cb.Kind = kind
	if cb.IsCheck() {
		return nil
	}
	if kind.IsNotice() {
		return classifyNotice(cb, kind, obj)
	}
	switch kind {
	case KindContract:
		return classifyContract(cb, obj)
	case KindAuthCompany:
		classifyCompanyAuth(cb, obj)
	case KindAuthPersonal:
		classifyPersonalAuth(cb, obj)
	}
	if cb.Auth != nil && strings.TrimSpace(cb.Auth.RequestID) == "" {
		return ErrMissingRequestID
	}
	return nil
}

func classifyContract(cb *Callback, obj map[string]json.RawMessage) error {
	cb.ContractID = strings.TrimSpace(str(obj, "contractId"))
	if cb.ContractID == "" {
		return ErrMissingContract
	}
	if strings.ContainsAny(cb.ContractID, "{[") {
		return fmt.Errorf("%w: contractId is not a string or number", ErrMalformed)
	}
	cb.ContractStatus = firstOf(obj, "contractStatus", "status")
	cb.BizID = str(obj, "bizId")
	cb.BusinessData = str(obj, "businessData")
	a := &Actor{
		TenantType: str(obj, "tenantType"),
		TenantName: str(obj, "tenantName"),
		TenantID:   str(obj, "tenantId"),
		Contact:    str(obj, "contact"),
	}
	if si := signatoryInfo(obj); si != nil {
		// Format B: the acting signatory is signatoryInfo; the top-level
		// tenant fields may describe the sponsor, so they are not mixed in.
		a = &Actor{TenantType: a.TenantType, TenantName: si.TenantName, Contact: si.ReceiverContact}
		if a.TenantName == "" {
			a.TenantName = si.ReceiverName
		}
	}
	if *a != (Actor{}) {
		cb.Actor = a
	}
	return nil
}

type signatory struct {
	TenantName      string `json:"tenantName"`
	ReceiverName    string `json:"receiverName"`
	ReceiverContact string `json:"receiverContact"`
}

// signatoryInfo decodes format B's signatoryInfo (an object, or a JSON
// string holding one); nil when absent or unreadable.
func signatoryInfo(obj map[string]json.RawMessage) *signatory {
	s := str(obj, "signatoryInfo")
	if s == "" {
		return nil
	}
	var si signatory
	if json.Unmarshal([]byte(s), &si) != nil || si == (signatory{}) {
		return nil
	}
	return &si
}

func classifyCompanyAuth(cb *Callback, obj map[string]json.RawMessage) {
	a := &Auth{
		RequestID:   firstOf(obj, "requestId", "companyId"),
		Status:      firstOf(obj, "status", "authStatus"),
		ActionEvent: str(obj, "actionEvent"),
		FailReason:  str(obj, "rejectReason"),
	}
	var info struct {
		Name string `json:"name"`
	}
	if s := str(obj, "authInfo"); s != "" {
		_ = json.Unmarshal([]byte(s), &info) // informational: a bad authInfo is not fatal
	}
	a.Name = info.Name
	if a.Name == "" {
		a.Name = str(obj, "companyName")
	}
	finishAuth(cb, a)
}

func classifyPersonalAuth(cb *Callback, obj map[string]json.RawMessage) {
	finishAuth(cb, &Auth{
		RequestID:  firstOf(obj, "authId", "userId"),
		Status:     firstOf(obj, "status", "authStatus"),
		Mode:       str(obj, "mode"),
		Name:       firstOf(obj, "name", "userName"),
		FailReason: str(obj, "rejectReason"),
	})
}

// finishAuth sets Success (format B: from the *_AUTH_SUCCESS type; format
// A: status "1") and the default callback type.
func finishAuth(cb *Callback, a *Auth) {
	if strings.Contains(cb.CallbackType, "_AUTH_") {
		a.Success = strings.HasSuffix(cb.CallbackType, "_AUTH_SUCCESS")
		if a.Status == "" {
			a.Status = cb.CallbackType
		}
	} else {
		a.Success = a.Status == AuthStatusSuccess
	}
	if cb.CallbackType == "" {
		cb.CallbackType = CallbackTypeAuth
	}
	cb.Auth = a
}

// Accept is which callback shapes a tenant accepts for one kind of
// callback. The three values are ordered, each accepting everything the
// previous one does. A signature that is present is always checked, and a
// wrong one is always refused, whatever the setting.
type Accept string

// Accepted shapes, strictest first.
const (
	// AcceptEncrypted requires a signature (format A: MD5(timestamp +
	// secret); format B: the timestamp, or the signature with
	// SignatureMD5) and format A's business fields encrypted in `content`.
	AcceptEncrypted Accept = "encrypted"
	// AcceptPlain also accepts signed format-A callbacks whose fields are
	// sent in the clear (encryption off in 契约锁). Format A's signature
	// covers only the timestamp, so it does not protect those fields.
	AcceptPlain Accept = "plain"
	// AcceptUnsigned also accepts callbacks without a signature: plain
	// form fields (the direct-mode certification callbacks of the public
	// cloud) or encrypted content. Anyone who knows the URL can forge
	// them; certifications are confirmed through the open API.
	AcceptUnsigned Accept = "unsigned"
)

// ParseAccept reads an Accept ("encrypted", "plain" or "unsigned", any
// case, surrounding spaces ignored).
func ParseAccept(s string) (Accept, error) {
	a := Accept(strings.ToLower(strings.TrimSpace(s)))
	if a.rank() < 0 {
		return "", fmt.Errorf("%w: %q is not encrypted, plain or unsigned", ErrInvalidOption, truncate([]byte(s), 32))
	}
	return a, nil
}

// rank orders the values (0 strictest); -1 for an unknown value.
func (a Accept) rank() int {
	switch a {
	case AcceptEncrypted:
		return 0
	case AcceptPlain:
		return 1
	case AcceptUnsigned:
		return 2
	}
	return -1
}

// Lenient reports whether a accepts more than signed, encrypted callbacks.
func (a Accept) Lenient() bool { return a.rank() > 0 }

// looser returns the looser of a and b.
func (a Accept) looser(b Accept) Accept {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Policy is what a tenant accepts per callback kind. An empty field takes
// the format's default (DefaultPolicy).
type Policy struct {
	Contract     Accept
	AuthPersonal Accept
	AuthCompany  Accept
	// Notice applies to the seal-audit, personal-sign-auth and
	// company-authorization notices (NoticeKinds but the physical seal).
	Notice Accept
	// PhysicalSeal applies to the physical-seal notice, whose fields are
	// never encrypted: anything stricter than AcceptUnsigned requires a
	// signature.
	PhysicalSeal Accept
}

// DefaultPolicy is the policy of a format when nothing is configured.
// Format A: contract callbacks must be signed and encrypted; certification
// callbacks are accepted unsigned and plain, the shape the public cloud
// sends them in outside SaaS mode (docs/qys-protocol.md §7). Format B:
// everything must be signed (there is no evidence of another shape).
// Either format: the notices must be signed and encrypted, but the
// physical seal, for which the vendor document describes no signature, is
// accepted unsigned.
func DefaultPolicy(f Format) Policy {
	if f == FormatB {
		return Policy{Contract: AcceptEncrypted, AuthPersonal: AcceptEncrypted, AuthCompany: AcceptEncrypted,
			Notice: AcceptEncrypted, PhysicalSeal: AcceptUnsigned}
	}
	return Policy{Contract: AcceptEncrypted, AuthPersonal: AcceptUnsigned, AuthCompany: AcceptUnsigned,
		Notice: AcceptEncrypted, PhysicalSeal: AcceptUnsigned}
}

// For returns what p accepts for kind (AcceptEncrypted for an unknown kind).
func (p Policy) For(kind Kind) Accept {
	var a Accept
	switch kind {
	case KindContract:
		a = p.Contract
	case KindAuthPersonal:
		a = p.AuthPersonal
	case KindAuthCompany:
		a = p.AuthCompany
	case KindPhysicalSeal:
		a = p.PhysicalSeal
	case KindSealAudit, KindPersonalSignAuth, KindCompanyAuthorization:
		a = p.Notice
	}
	if a.rank() < 0 {
		return AcceptEncrypted
	}
	return a
}

// Lenient returns the kinds for which p accepts plain or unsigned
// callbacks, in the order contract, auth.personal, auth.company, then the
// signed notices. The physical seal is left out: the platform describes
// no signature for it, so accepting it unsigned is its expected setting.
func (p Policy) Lenient() []Kind {
	var out []Kind
	for _, k := range []Kind{KindContract, KindAuthPersonal, KindAuthCompany, KindSealAudit, KindPersonalSignAuth, KindCompanyAuthorization} {
		if p.For(k).Lenient() {
			out = append(out, k)
		}
	}
	return out
}

// withDefaults fills the empty fields from DefaultPolicy(f) and loosens
// every kind to at least floor (the legacy all-kinds switches).
func (p Policy) withDefaults(f Format, floor Accept) Policy {
	d := DefaultPolicy(f)
	fill := func(a *Accept, def Accept) {
		if *a == "" {
			*a = def
		}
		if floor != "" {
			*a = a.looser(floor)
		}
	}
	fill(&p.Contract, d.Contract)
	fill(&p.AuthPersonal, d.AuthPersonal)
	fill(&p.AuthCompany, d.AuthCompany)
	fill(&p.Notice, d.Notice)
	fill(&p.PhysicalSeal, d.PhysicalSeal)
	return p
}

func (p Policy) validate() error {
	for _, a := range []Accept{p.Contract, p.AuthPersonal, p.AuthCompany, p.Notice, p.PhysicalSeal} {
		if a != "" && a.rank() < 0 {
			return fmt.Errorf("unknown accept value %q (encrypted, plain or unsigned)", truncate([]byte(a), 32))
		}
	}
	return nil
}

func (p Policy) allUnsigned() bool {
	return p.For(KindContract) == AcceptUnsigned && p.For(KindAuthPersonal) == AcceptUnsigned &&
		p.For(KindAuthCompany) == AcceptUnsigned
}
