package qystest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/qyshook/qyshook/qys"
)

// ContractCallbackTypes are the format-A contract callbackType values the
// platform documents (docs/qys-protocol.md §3.5, §8.2), UNKNOWN included:
// SendContractCallback sends any of them.
var ContractCallbackTypes = []string{
	CallbackSendSigning, "SEND_FILLING", "FILLED", "CONFIG_FLOW",
	CallbackPersonal, "OPERATOR", "LEGAL_PERSON", CallbackSeal, "AUDIT_SIGN", "AUDIT",
	CallbackRecalled, CallbackRejected, CallbackExpired, CallbackComplete,
	CallbackSendInvalid, "INVALIDING", CallbackInvalided, "INVALID_REJECTED", "FAILED", "UNKNOWN",
}

// perSignatoryTypes are the contract callback types an acting signatory
// sends (its tenant fields are in the callback).
var perSignatoryTypes = []string{CallbackPersonal, "OPERATOR", "LEGAL_PERSON", CallbackSeal, "AUDIT_SIGN", "AUDIT"}

// ContractCallbackTypesB are the format-B contract callbackType values the
// fake sends: CONTRACT_SIGN and CONTRACT_COMPLETE, the two a source shows
// (S15), then "CONTRACT_" + each other format-A type. Those are the fake's
// own guess, not a documented vocabulary: they exercise the receiver's
// rule that any CONTRACT_* type is a contract callback.
var ContractCallbackTypesB = func() []string {
	out := []string{CallbackContractSign, CallbackContractComplete}
	for _, t := range ContractCallbackTypes {
		switch t {
		case CallbackPersonal, CallbackSeal, CallbackComplete: // CONTRACT_SIGN, CONTRACT_COMPLETE
		default:
			out = append(out, "CONTRACT_"+t)
		}
	}
	return out
}()

// Format-B certification callbackType values besides success and failure.
const (
	CallbackUserAuthExpired    = "USER_AUTH_EXPIRED"
	CallbackCompanyAuthInvalid = "COMPANY_AUTH_INVALID"
)

// CertificationCallbackTypesB are the format-B certification types (S15).
var CertificationCallbackTypesB = []string{CallbackUserAuthOK, CallbackUserAuthFail, CallbackUserAuthExpired,
	CallbackCompanyAuthOK, CallbackCompanyAuthFail, CallbackCompanyAuthInvalid}

// NoticeTypes are, per notice kind, the types SendNotice sends: the
// seal audit's result, the signing authorisation's item, the physical
// seal's status or message (IMAGE: 用印图片, LEFT_COUNT: 剩余次数). The
// company authorisation's payload is not documented: the fake sends its
// own shape (companyId, companyName, status).
var NoticeTypes = map[qys.Kind][]string{
	qys.KindSealAudit:            {"PASS", "REJECT"},
	qys.KindPersonalSignAuth:     {"AUTHORIZE", "DEAUTHORIZE"},
	qys.KindCompanyAuthorization: {"AUTHORIZED", "DEAUTHORIZED"},
	qys.KindPhysicalSeal:         {"USING", "COMPLETE", qys.NoticeTypeSealImage, qys.NoticeTypeLeftCount},
}

// SendContractCallback sends one contract callback of callbackType (any
// value, documented or not) for contract id in its current status, without
// changing it: the lifecycle methods send the callbacks of the changes
// they make, this one every other type. The per-signatory types
// (PERSONAL, OPERATOR, LEGAL_PERSON, SEAL, AUDIT_SIGN, AUDIT, and their
// CONTRACT_ forms in format B) name the first signatory as the actor. In
// format B give a format-B type (ContractCallbackTypesB).
func (s *Server) SendContractCallback(id, callbackType string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[id]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContract, id)
	}
	var actor *signatory
	if slices.Contains(perSignatoryTypes, strings.TrimPrefix(callbackType, "CONTRACT_")) || callbackType == CallbackContractSign {
		if len(c.signatories) > 0 {
			actor = c.signatories[0]
		}
	}
	if s.cb.target.Sender.Format == qys.FormatB {
		s.contractPayloadBLocked(c, callbackType, actor)
		return nil
	}
	e := contractEventA{ContractID: c.id, CallbackType: callbackType, ContractStatus: c.status,
		BusinessData: c.spec.BusinessData, BizID: c.spec.BizID}
	if actor != nil {
		e.TenantType, e.TenantName, e.TenantID, e.Contact = actor.spec.TenantType,
			actor.spec.TenantName, actor.tenantID, actor.spec.Contact
	}
	s.emitLocked(qys.KindContract, callbackType, c.id, e)
	return nil
}

// SendCertificationCallbackB sends a format-B certification callback of
// callbackType (CertificationCallbackTypesB) for the company or user id,
// and records its outcome for the result calls. authStatus is 1 for
// success, 2 for failure, and for EXPIRED/INVALID the type's own word
// (no source gives their authStatus). Format A targets get nothing: use
// CompleteCompanyAuth and CompletePersonalAuth.
func (s *Server) SendCertificationCallbackB(callbackType, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cb.target.Sender.Format != qys.FormatB {
		return fmt.Errorf("%w: format-B certification callback to a format-%s target", ErrInvalidState, s.cb.target.Sender.Format)
	}
	status := map[string]string{CallbackUserAuthOK: "1", CallbackCompanyAuthOK: "1",
		CallbackUserAuthFail: "2", CallbackCompanyAuthFail: "2"}[callbackType]
	if status == "" {
		status = callbackType[strings.LastIndexByte(callbackType, '_')+1:]
	}
	p := s.headerBLocked(callbackType, "AUTH")
	p["authStatus"] = status
	switch {
	case strings.HasPrefix(callbackType, "USER_AUTH_"):
		contact := mobileFor(id)
		s.setPersonalAuthLocked(PersonalAuth{AuthID: id, Mode: "FACE", Status: status,
			Contact: contact, ContactType: qys.ContactMobile})
		p["userId"], p["bizNo"], p["authSourceType"], p["userMobile"] = number(id), id, "FACE", contact
		s.emitLocked(qys.KindAuthPersonal, callbackType, "", p)
	case strings.HasPrefix(callbackType, "COMPANY_AUTH_"):
		name := "示例科技有限公司"
		s.recordCompanyAuthLocked(id, name, "91310000"+fmt.Sprintf("%010d", len(id)), status)
		p["companyId"], p["companyName"], p["legalPersonName"] = number(id), name, "张三"
		s.emitLocked(qys.KindAuthCompany, callbackType, "", p)
	default:
		return fmt.Errorf("%w: %q is not a certification type", ErrInvalidState, callbackType)
	}
	return nil
}

// mobileFor is the fake's mobile number of a personal certification: 11
// digits starting 139, derived from the auth id so a run can look it up.
func mobileFor(authID string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(authID); i++ {
		h = (h ^ uint32(authID[i])) * 16777619
	}
	return "139" + fmt.Sprintf("%08d", h%100000000)
}

// MobileFor returns the contact (mobile) the fake gives the personal
// certification authID, for /v2/personalauth/result?contact=…&contactType=MOBILE.
func MobileFor(authID string) string { return mobileFor(authID) }

// SendNotice sends a notice callback of kind (qys.NoticeKinds) and typ
// (NoticeTypes) about key (an applyId, companyId or businessId; generated
// when empty) to CallbackTarget.NoticeURL, and returns the key. The seal
// audit, signing and company authorisations are sent with the target's
// sender (format A: signed, encrypted when Sender.Encrypt; the signing
// authorisation with signature and timestamp in the URL, as S19 says;
// format B: the envelope). The physical seal is always sent as plain,
// unsigned form fields (private cloud 4.0, S6 §8.2–8.4).
func (s *Server) SendNotice(kind qys.Kind, typ, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !kind.IsNotice() {
		return "", fmt.Errorf("%w: %q is not a notice kind", ErrInvalidState, kind)
	}
	if key == "" {
		key = s.nextIDLocked(tenantIDBase)
	}
	sender := s.cb.target.Sender
	var p map[string]any
	switch kind {
	case qys.KindSealAudit:
		detail := map[string]string{"sealType": "COMPANY", "sealName": "合同专用章"}
		if typ == "PASS" {
			detail["sealId"] = s.nextIDLocked(tenantIDBase)
		} else {
			detail["rejectReason"] = "qystest: 印章图片不清晰"
		}
		d, _ := json.Marshal(detail)
		p = map[string]any{"applyId": key, "result": typ, "detail": string(d)}
	case qys.KindPersonalSignAuth:
		p = map[string]any{"companyId": key, "companyName": "示例科技有限公司", "assignee": "李四",
			"user": "张三", "userType": "PERSONAL", "authDeadline": "2027-12-31", "remark": "qystest", "item": typ}
		if typ == "DEAUTHORIZE" {
			p["deauthorizeDate"] = "2026-12-07"
		}
	case qys.KindCompanyAuthorization:
		p = map[string]any{"companyId": key, "companyName": "示例科技有限公司", "status": typ}
	case qys.KindPhysicalSeal:
		sender = qys.SenderConfig{Format: qys.FormatA, Unsigned: true}
		p = map[string]any{"businessId": key}
		switch typ {
		case qys.NoticeTypeSealImage:
			p["mobile"], p["imageType"], p["images"] = "13800000000", "FACE", "https://example.invalid/seal/1.jpg"
		case qys.NoticeTypeLeftCount:
			p["mobile"], p["leftCount"], p["timestamp"] = "13800000000", "3", strconv.FormatInt(s.now().UnixMilli(), 10)
		default:
			p["status"] = typ
		}
	}
	if sender.Format == qys.FormatB && kind != qys.KindPhysicalSeal {
		for k, v := range s.headerBLocked(typ, "NOTICE") {
			if k != "callbackType" { // the notice's own fields name its type
				p[k] = v
			}
		}
	}
	s.emitNoticeLocked(kind, typ, p, sender, kind == qys.KindPersonalSignAuth && sender.Format != qys.FormatB)
	return key, nil
}

// noticeURL is where a notice of kind goes: NoticeURL + "/" + its segment.
func (t CallbackTarget) noticeURL(kind qys.Kind) string {
	if t.NoticeURL == "" || !kind.IsNotice() {
		return ""
	}
	return strings.TrimSuffix(t.NoticeURL, "/") + "/" + kind.Segment()
}

// signatureToQuery moves signature and timestamp from a form body to the
// URL's query (the signing authorisation's documented placement).
func signatureToQuery(rawURL string, body []byte) (string, []byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	for _, k := range []string{"signature", "timestamp"} {
		if v := form.Get(k); v != "" {
			q.Set(k, v)
			form.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), []byte(form.Encode()), nil
}
