package qystest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
)

// Contract callbackType values (format A) the lifecycle methods send.
const (
	CallbackSendSigning = "SEND_SIGNING"
	CallbackPersonal    = "PERSONAL"
	CallbackSeal        = "SEAL"
	CallbackComplete    = "COMPLETE"
	CallbackRejected    = "REJECTED"
	CallbackRecalled    = "RECALLED"
	CallbackExpired     = "EXPIRED"
	CallbackSendInvalid = "SEND_INVALID"
	CallbackInvalided   = "INVALIDED"
)

// Format-B callbackType values the fake sends.
const (
	CallbackCheck            = "CALLBACK_CHECK"
	CallbackContractSign     = "CONTRACT_SIGN"
	CallbackContractComplete = "CONTRACT_COMPLETE"
	CallbackCompanyAuthOK    = "COMPANY_AUTH_SUCCESS"
	CallbackCompanyAuthFail  = "COMPANY_AUTH_FAILED"
	CallbackUserAuthOK       = "USER_AUTH_SUCCESS"
	CallbackUserAuthFail     = "USER_AUTH_FAILED"
)

// contractEventA is a format-A contract callback payload (spec §3.2).
type contractEventA struct {
	ContractID     string `json:"contractId"`
	CallbackType   string `json:"callbackType"`
	ContractStatus string `json:"contractStatus"`
	TenantType     string `json:"tenantType,omitempty"`
	TenantName     string `json:"tenantName,omitempty"`
	TenantID       string `json:"tenantId,omitempty"`
	Contact        string `json:"contact,omitempty"`
	BusinessData   string `json:"businessData,omitempty"`
	BizID          string `json:"bizId,omitempty"`
}

// Send sends a DRAFT (or FILLING) contract for signing: status SIGNING,
// callback SEND_SIGNING (format B: none).
func (s *Server) Send(id string) error {
	return s.transition(id, func(c *contract, now time.Time) error {
		if c.status != lifecycle.Draft && c.status != lifecycle.Filling {
			return fmt.Errorf("%w: send %s contract", ErrInvalidState, c.status)
		}
		c.status = lifecycle.Signing
		for _, sg := range c.signatories {
			sg.status = SignatorySigning
		}
		c.logf(now, "发起签署")
		s.contractEventLocked(c, CallbackSendSigning, nil)
		return nil
	})
}

// Sign makes signatory idx (0-based) sign: its status becomes COMPLETE and
// a PERSONAL (PERSONAL signatory) or SEAL (COMPANY) callback goes out;
// format B sends CONTRACT_SIGN. When every signatory has signed, the
// contract becomes COMPLETE (the signatory's callback already carries
// contractStatus COMPLETE) and a COMPLETE / CONTRACT_COMPLETE callback
// follows.
func (s *Server) Sign(id string, idx int) error {
	return s.transition(id, func(c *contract, now time.Time) error {
		sg, err := c.signingSignatory(idx)
		if err != nil {
			return err
		}
		sg.status, sg.done = SignatoryComplete, now
		all := true
		for _, x := range c.signatories {
			all = all && x.status == SignatoryComplete
		}
		if all {
			c.status, c.end = lifecycle.Complete, now
		}
		typ := CallbackPersonal
		if sg.spec.TenantType == TenantCompany {
			typ = CallbackSeal
		}
		c.logf(now, "%s 签署 (%s)", sg.spec.TenantName, typ)
		s.contractEventLocked(c, typ, sg)
		if all {
			s.signDocumentsLocked(c)
			c.logf(now, "合同完成")
			s.contractEventLocked(c, CallbackComplete, nil)
		}
		return nil
	})
}

// Reject makes signatory idx refuse: the contract becomes REJECTED and a
// REJECTED callback goes out (format B: none).
func (s *Server) Reject(id string, idx int) error {
	return s.transition(id, func(c *contract, now time.Time) error {
		sg, err := c.signingSignatory(idx)
		if err != nil {
			return err
		}
		sg.status = SignatoryRejected
		c.status, c.end, c.comments = lifecycle.Rejected, now, sg.spec.TenantName+" 退回"
		c.logf(now, "%s 退回", sg.spec.TenantName)
		s.contractEventLocked(c, CallbackRejected, sg)
		return nil
	})
}

// Recall withdraws a SIGNING contract: RECALLED (format B: no callback).
func (s *Server) Recall(id string) error {
	return s.simple(id, lifecycle.Recalled, CallbackRecalled, "撤回")
}

// Expire lets a SIGNING contract expire: EXPIRED (format B: no callback).
func (s *Server) Expire(id string) error {
	return s.simple(id, lifecycle.Expired, CallbackExpired, "过期")
}

func (s *Server) simple(id, status, callbackType, what string) error {
	return s.transition(id, func(c *contract, now time.Time) error {
		if c.status != lifecycle.Signing && c.status != lifecycle.Filling {
			return fmt.Errorf("%w: %s a %s contract", ErrInvalidState, what, c.status)
		}
		c.status, c.end = status, now
		c.logf(now, "合同%s", what)
		s.contractEventLocked(c, callbackType, nil)
		return nil
	})
}

// Invalidate voids a COMPLETE contract in two steps, each with a callback:
// INVALIDING (callbackType SEND_INVALID), then INVALIDED (INVALIDED).
// Format B sends none.
func (s *Server) Invalidate(id string) error {
	return s.transition(id, func(c *contract, now time.Time) error {
		if c.status != lifecycle.Complete {
			return fmt.Errorf("%w: invalidate a %s contract", ErrInvalidState, c.status)
		}
		c.status, c.invalid = lifecycle.Invaliding, "qystest: invalidated"
		c.logf(now, "发起作废")
		s.contractEventLocked(c, CallbackSendInvalid, nil)
		c.status, c.end = lifecycle.Invalided, now
		c.logf(now, "作废完成")
		s.contractEventLocked(c, CallbackInvalided, nil)
		return nil
	})
}

func (s *Server) transition(id string, f func(c *contract, now time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[id]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContract, id)
	}
	return f(c, s.now())
}

func (c *contract) signingSignatory(idx int) (*signatory, error) {
	if c.status != lifecycle.Signing {
		return nil, fmt.Errorf("%w: contract is %s, not SIGNING", ErrInvalidState, c.status)
	}
	if idx < 0 || idx >= len(c.signatories) {
		return nil, fmt.Errorf("%w: no signatory %d", ErrInvalidState, idx)
	}
	sg := c.signatories[idx]
	if sg.status != SignatorySigning {
		return nil, fmt.Errorf("%w: signatory %d is %s", ErrInvalidState, idx, sg.status)
	}
	return sg, nil
}

// contractEventLocked sends the contract callback for the current state.
// actor is the signatory acting, or nil for the sponsor.
func (s *Server) contractEventLocked(c *contract, callbackType string, actor *signatory) {
	if s.cb.target.Sender.Format == qys.FormatB {
		s.contractEventBLocked(c, callbackType, actor)
		return
	}
	e := contractEventA{ContractID: c.id, CallbackType: callbackType, ContractStatus: c.status,
		BusinessData: c.spec.BusinessData, BizID: c.spec.BizID}
	if actor != nil {
		e.TenantType, e.TenantName, e.TenantID, e.Contact = actor.spec.TenantType,
			actor.spec.TenantName, actor.tenantID, actor.spec.Contact
	} else if c.spec.TenantName != "" {
		e.TenantType, e.TenantName, e.TenantID = TenantCompany, c.spec.TenantName, s.tenantIDLocked(c.spec.TenantName)
	}
	s.emitLocked(qys.KindContract, callbackType, c.id, e)
}

// contractEventBLocked maps to format B, whose known vocabulary only has
// CONTRACT_SIGN and CONTRACT_COMPLETE; other events send nothing.
func (s *Server) contractEventBLocked(c *contract, callbackType string, actor *signatory) {
	typ := map[string]string{CallbackPersonal: CallbackContractSign, CallbackSeal: CallbackContractSign,
		CallbackComplete: CallbackContractComplete}[callbackType]
	if typ == "" {
		return
	}
	s.contractPayloadBLocked(c, typ, actor)
}

// contractPayloadBLocked sends a format-B contract callback of typ.
func (s *Server) contractPayloadBLocked(c *contract, typ string, actor *signatory) {
	p := s.headerBLocked(typ, "CONTRACT")
	p["contractId"] = number(c.id)
	p["sn"], p["bizId"], p["status"], p["businessData"] = c.sn, c.spec.BizID, c.status, c.spec.BusinessData
	if actor != nil {
		p["tenantId"], p["tenantName"] = number(actor.tenantID), actor.spec.TenantName
		p["signatoryInfo"] = map[string]string{"tenantName": actor.spec.TenantName,
			"receiverName": actor.spec.ReceiverName, "receiverContact": actor.spec.Contact}
	} else if c.spec.TenantName != "" {
		p["tenantId"], p["tenantName"] = number(s.tenantIDLocked(c.spec.TenantName)), c.spec.TenantName
	}
	s.emitLocked(qys.KindContract, typ, c.id, p)
}

func (s *Server) headerBLocked(callbackType, bizType string) map[string]any {
	return map[string]any{"callbackType": callbackType, "callbackBizType": bizType,
		"callbackTime": strconv.FormatInt(s.now().UnixMilli(), 10)}
}

// number writes a numeric id as a JSON number (format B sends Longs), and
// any other id as a string.
func number(id string) any {
	if _, err := strconv.ParseInt(id, 10, 64); err == nil {
		return json.Number(id)
	}
	return id
}

// SendCheck sends a CALLBACK_CHECK to the contract URL (format B's URL
// check; in format A the same payload is sent, which the platform never does).
func (s *Server) SendCheck() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emitLocked(qys.KindContract, CallbackCheck, "", s.headerBLocked(CallbackCheck, "CHECK"))
}

// CompleteCompanyAuth finishes a company certification and sends its
// callback to CompanyAuthURL. Format A: requestId, status "1" (success) or
// "2", actionEvent "7" (认证成功) or "2", authInfo as a JSON string
// {name, registerNo, legalPerson}; CallbackTarget.AuthShape selects the
// SaaS or the direct-mode shape instead. Format B: COMPANY_AUTH_SUCCESS /
// _FAILED.
func (s *Server) CompleteCompanyAuth(requestID, name string, success bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	registerNo := "91310000" + fmt.Sprintf("%010d", len(requestID)*7919+len(name))
	s.recordCompanyAuthLocked(requestID, name, registerNo, map[bool]string{true: qys.AuthStatusSuccess, false: qys.AuthStatusFailed}[success])
	if s.cb.target.Sender.Format == qys.FormatB {
		typ, status := CallbackCompanyAuthOK, "1"
		if !success {
			typ, status = CallbackCompanyAuthFail, "2"
		}
		p := s.headerBLocked(typ, "AUTH")
		p["companyId"], p["companyName"], p["registerNo"] = number(requestID), name, registerNo
		p["legalPersonName"], p["authStatus"] = "张三", status
		if !success {
			p["rejectReason"] = "qystest: rejected"
		}
		s.emitLocked(qys.KindAuthCompany, typ, "", p)
		return
	}
	status, event := 1, 7
	if !success {
		status, event = 2, 2
	}
	if s.cb.target.AuthShape == AuthShapeSaaS {
		s.emitLocked(qys.KindAuthCompany, "AUTH", "", map[string]any{"requestId": requestID,
			"companyId": s.tenantIDLocked(name), "companyName": name, "legalPerson": "张三",
			"registerNo": registerNo, "status": status, "actionEvent": event})
		return
	}
	info, _ := json.Marshal(map[string]string{"name": name, "registerNo": registerNo, "legalPerson": "张三"})
	s.emitAuthLocked(qys.KindAuthCompany, map[string]string{"requestId": requestID,
		"status": strconv.Itoa(status), "actionEvent": strconv.Itoa(event), "authInfo": string(info)})
}

// emitAuthLocked sends a certification callback in the target's shape:
// with the target's sender, or as plain unsigned form fields
// (AuthShapeDirect).
func (s *Server) emitAuthLocked(kind qys.Kind, payload map[string]string) {
	sender := s.cb.target.Sender
	if s.cb.target.AuthShape == AuthShapeDirect {
		sender = qys.SenderConfig{Format: qys.FormatA, Unsigned: true}
	}
	s.emitWithLocked(kind, "AUTH", "", payload, sender)
}

// CompletePersonalAuth finishes a personal certification and sends its
// callback to PersonalAuthURL. Format A: authId, mode (IVS, FACE, BANK,
// MANUAL) and status ("1" pass, "2" fail, "3" manual review). Format B:
// USER_AUTH_SUCCESS for "1", USER_AUTH_FAILED for "2", nothing otherwise
// (SendCertificationCallbackB sends the other types). The certification
// gets a contact, the mobile MobileFor(authID) unless SetPersonalAuth gave
// it one (format B sends it as userMobile), so /v2/personalauth/result
// finds it by contact too.
func (s *Server) CompletePersonalAuth(authID, mode, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	contact, ctype := mobileFor(authID), qys.ContactMobile
	if old, ok := s.ev.persons[authID]; ok && old.Contact != "" { // SetPersonalAuth gave it one
		contact, ctype = old.Contact, old.ContactType
	}
	s.setPersonalAuthLocked(PersonalAuth{AuthID: authID, Mode: mode, Status: status,
		Contact: contact, ContactType: ctype})
	if s.cb.target.Sender.Format == qys.FormatB {
		typ := map[string]string{"1": CallbackUserAuthOK, "2": CallbackUserAuthFail}[status]
		if typ == "" {
			return
		}
		p := s.headerBLocked(typ, "AUTH")
		p["userId"], p["bizNo"], p["authSourceType"], p["authStatus"] = number(authID), authID, mode, status
		p["userMobile"] = contact
		s.emitLocked(qys.KindAuthPersonal, typ, "", p)
		return
	}
	s.emitAuthLocked(qys.KindAuthPersonal, map[string]string{"authId": authID, "mode": mode, "status": status})
}
