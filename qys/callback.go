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
