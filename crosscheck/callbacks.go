package crosscheck

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
)

// Kinds of discrepancy between the callbacks received and the detail.
const (
	// CallbackUnknownParty: a per-signatory callback (PERSONAL, OPERATOR,
	// LEGAL_PERSON, SEAL, AUDIT, AUDIT_SIGN) names a tenant that is no
	// signatory of the contract (nor its sponsor).
	CallbackUnknownParty Kind = "callback_unknown_party"
	// CallbackContradicted: a callback claims an end the detail
	// contradicts: REJECTED, RECALLED or EXPIRED (as its type or its
	// contractStatus) for a contract the detail says was signed.
	CallbackContradicted Kind = "callback_contradicted"
)

// Callback is one callback the ledger received for the contract: its
// event id, callbackType and payload as stored (the verified body).
type Callback struct {
	EventID string
	Type    string
	Payload json.RawMessage
}

// perSignatory are the callback types that name the acting signatory.
var perSignatory = map[string]bool{"PERSONAL": true, "OPERATOR": true, "LEGAL_PERSON": true, "SEAL": true,
	"AUDIT": true, "AUDIT_SIGN": true}

// ends a signed contract can never have reached.
var unsignedEnds = map[string]bool{lifecycle.Rejected: true, lifecycle.Recalled: true, lifecycle.Expired: true}

// CompareCallbacks lists the discrepancies between the callbacks' claims
// and a signed contract's detail. The payload is read leniently: only
// top-level tenantName and contractStatus (format A's names) are looked
// at (contractStatus falling back to status, as package qys reads it); a
// payload without them claims nothing.
func CompareCallbacks(detail *qys.Contract, callbacks []Callback) []Discrepancy {
	if detail == nil || !lifecycle.Signed(detail.Status) {
		return nil
	}
	parties := map[string]bool{detail.TenantName: true}
	for _, sg := range detail.Signatories {
		parties[sg.TenantName] = true
	}
	var out []Discrepancy
	for _, cb := range callbacks {
		claim := readClaim(cb.Payload)
		typ := strings.ToUpper(cb.Type)
		if perSignatory[typ] && claim.TenantName != "" && !parties[claim.TenantName] {
			out = append(out, Discrepancy{Kind: CallbackUnknownParty, Party: claim.TenantName, Event: cb.EventID,
				Detail: fmt.Sprintf("a %s callback names %s, who is not a signatory in the API's detail", typ, claim.TenantName)})
		}
		if unsignedEnds[typ] || unsignedEnds[strings.ToUpper(claim.ContractStatus)] {
			out = append(out, Discrepancy{Kind: CallbackContradicted, Event: cb.EventID,
				Detail: fmt.Sprintf("a %s callback (contractStatus %q) for a contract the API says is %s", typ, claim.ContractStatus, detail.Status)})
		}
	}
	return out
}

type claim struct {
	TenantName     string `json:"tenantName"`
	ContractStatus string `json:"contractStatus"`
}

func readClaim(payload json.RawMessage) claim {
	var c claim
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return c
	}
	_ = json.Unmarshal(m["tenantName"], &c.TenantName)
	if json.Unmarshal(m["contractStatus"], &c.ContractStatus) != nil || c.ContractStatus == "" {
		_ = json.Unmarshal(m["status"], &c.ContractStatus) // qys reads either
	}
	return c
}
