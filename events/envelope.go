package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Schema versions. A breaking change gets a new string; additive changes
// keep it.
const (
	SchemaCallbackV1 = "qyshook.callback.v1"
	SchemaLedgerV1   = "qyshook.ledger.v1"
)

// Sources of an event: how it entered qyshook.
const (
	SourceCallback  = "callback"  // a 契约锁 callback verified by the receiver
	SourceReconcile = "reconcile" // found by the reconciler polling the API
	SourceIngest    = "ingest"    // re-ingested from a file of raw callbacks
	SourceReplay    = "replay"    // republished by an operator (qyshook replay, qyshook dlq retry)
)

// Actor is the signatory (or certification subject) acting in an event, as
// the callback names it. It carries personal data: never log it.
type Actor struct {
	TenantType string `json:"tenant_type,omitempty"` // PERSONAL or COMPANY
	TenantName string `json:"tenant_name,omitempty"`
	TenantID   string `json:"tenant_id,omitempty"`
	Contact    string `json:"contact,omitempty"`
}

// Auth is the outcome of a certification callback (kinds auth.personal
// and auth.company). Name is personal data: never log it.
type Auth struct {
	RequestID   string `json:"request_id"`
	Status      string `json:"status"`
	Success     bool   `json:"success"`
	Mode        string `json:"mode,omitempty"`
	Name        string `json:"name,omitempty"`
	FailReason  string `json:"fail_reason,omitempty"`
	ActionEvent string `json:"action_event,omitempty"`
}

// Notice identifies a notice callback (the notice kinds).
type Notice struct {
	// Key names what the notice is about (applyId, companyId,
	// businessId…); "" when the payload has none.
	Key string `json:"key,omitempty"`
	// Digest is the SHA-256 of the payload without its delivery fields:
	// the notice's identity (part of the event id).
	Digest string `json:"digest"`
}

// Envelope is one verified callback as stored on QYS_CALLBACKS. Field names
// and meanings never change; new fields may be added.
type Envelope struct {
	Schema         string          `json:"schema"`
	ID             string          `json:"id"`
	Tenant         string          `json:"tenant"`
	Kind           string          `json:"kind"`
	Type           string          `json:"type"`
	ContractID     string          `json:"contract_id,omitempty"`
	ContractStatus string          `json:"contract_status,omitempty"`
	Actor          *Actor          `json:"actor,omitempty"`
	BusinessData   string          `json:"business_data,omitempty"`
	Auth           *Auth           `json:"auth,omitempty"`
	Notice         *Notice         `json:"notice,omitempty"`
	OccurredAt     *time.Time      `json:"occurred_at,omitempty"`
	ReceivedAt     time.Time       `json:"received_at"`
	Format         string          `json:"format"`
	Source         string          `json:"source"`
	Payload        json.RawMessage `json:"payload"`
}

// ErrInvalidEnvelope is returned by Decode for bytes that are not a usable
// envelope. Such a message can never be applied: it is a permanent failure.
var ErrInvalidEnvelope = errors.New("events: invalid envelope")

// Encode marshals e: the bytes of json.Marshal(e), written without
// reflection in the common case (AppendEncode).
func (e *Envelope) Encode() ([]byte, error) {
	return e.AppendEncode(make([]byte, 0, 512+len(e.Payload)))
}

// Decode parses an envelope and checks the fields every consumer relies on.
func Decode(data []byte) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEnvelope, err)
	}
	if e.Schema != SchemaCallbackV1 {
		return nil, fmt.Errorf("%w: schema %q", ErrInvalidEnvelope, e.Schema)
	}
	if e.ID == "" || e.Tenant == "" {
		return nil, fmt.Errorf("%w: missing id or tenant", ErrInvalidEnvelope)
	}
	switch e.Kind {
	case KindContract:
		if e.ContractID == "" {
			return nil, fmt.Errorf("%w: contract event without contract_id", ErrInvalidEnvelope)
		}
	case KindAuthPersonal, KindAuthCompany:
		if e.Auth == nil || e.Auth.RequestID == "" {
			return nil, fmt.Errorf("%w: certification event without auth.request_id", ErrInvalidEnvelope)
		}
	default:
		if !IsNoticeKind(e.Kind) {
			return nil, fmt.Errorf("%w: kind %q", ErrInvalidEnvelope, e.Kind)
		}
		if e.Notice == nil || e.Notice.Digest == "" {
			return nil, fmt.Errorf("%w: notice event without notice.digest", ErrInvalidEnvelope)
		}
	}
	return &e, nil
}

// EventID derives the stable id of a callback from its identity: tenant,
// kind, subject id (the contract id, or the certification request id),
// callbackType, status and the acting signatory. The delivery timestamp is
// not part of it, so 契约锁's retries of one callback share one id and
// collapse in the stream's duplicate window and in the ledger.
func EventID(tenant, kind, subjectID, callbackType, status, actor string) string {
	h := sha256.New()
	for _, p := range []string{tenant, kind, subjectID, callbackType, status, actor} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "qys-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// ActorKey is the actor part of an event id: the signatory's tenant id when
// present, else its type and name.
func ActorKey(a *Actor) string {
	if a == nil {
		return ""
	}
	if a.TenantID != "" {
		return "id:" + a.TenantID
	}
	if a.TenantName == "" && a.TenantType == "" {
		return ""
	}
	return "name:" + strings.ToUpper(a.TenantType) + ":" + a.TenantName
}

// Fact is one ledger change published on QYS_LEDGER for downstream
// subscribers. Its ID is the Nats-Msg-Id it is published with.
type Fact struct {
	Schema string `json:"schema"`
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	Kind   string `json:"kind"` // FactContractStatus, FactDocumentsArchived, FactCertificationStatus, FactKindNotice or FactKindDiscrepancy
	// ContractID is "" for a certification fact.
	ContractID string `json:"contract_id"`
	// Seq numbers the facts of one contract (tenant, contract_id) in the
	// order the ledger wrote them: 1, 2, 3, … without gaps. The ledger sets
	// it when it writes the fact to its outbox.
	Seq            int64          `json:"seq"`
	BizID          string         `json:"biz_id,omitempty"`
	Status         string         `json:"status,omitempty"`
	PreviousStatus string         `json:"previous_status,omitempty"`
	Confirmed      bool           `json:"confirmed"`
	Source         string         `json:"source,omitempty"`
	CauseEventID   string         `json:"cause_event_id,omitempty"`
	Documents      []FactDocument `json:"documents,omitempty"`
	// Certification describes the certification of a
	// FactCertificationStatus fact (Status is then its state word, and
	// PreviousStatus the state it came from).
	Certification *FactCertification `json:"certification,omitempty"`
	// Notice describes the notice of a FactKindNotice fact (Status is then
	// the notice's type, and Confirmed always false).
	Notice *FactNotice `json:"notice,omitempty"`
	// Checkpoint describes the receipt log checkpoint of a
	// FactLogCheckpoint fact.
	Checkpoint *FactCheckpoint `json:"checkpoint,omitempty"`
	// Discrepancy describes the disagreement of a FactKindDiscrepancy fact.
	Discrepancy *FactDiscrepancy `json:"discrepancy,omitempty"`
	OccurredAt  time.Time        `json:"occurred_at"`
	Detail      json.RawMessage  `json:"detail,omitempty"`
}

// FactDiscrepancy describes a discrepancy fact: its kind and the document
// compared. The party and the sources' words may name people and are
// left out: subscribers read them from the ledger (documents.discrepancies)
// or the admin API.
type FactDiscrepancy struct {
	Kind       string `json:"kind"`
	DocumentID string `json:"document_id"`
	SHA256     string `json:"sha256"`
	// EventID is the ledger event of the callback concerned, for the
	// callback kinds ("" otherwise).
	EventID string `json:"event_id,omitempty"`
}

// FactCertification describes a certification in a certification.status
// fact. The person's or company's name is personal data and is left out:
// subscribers read it from the ledger.
type FactCertification struct {
	RequestID string `json:"request_id"`
	Kind      string `json:"kind"` // personal or company
	// Status is the status as 契约锁 sent it: the callback's code or type
	// when unconfirmed, the certification-result answer's code (or
	// "realName=true|false") when confirmed; their meanings differ, so
	// read the fact's Status (the state word) instead.
	Status     string `json:"status"`
	Success    bool   `json:"success"`
	Mode       string `json:"mode,omitempty"`
	FailReason string `json:"fail_reason,omitempty"`
	// UnconfirmedReason says why the fact is unconfirmed: no_api,
	// not_found or unrecognized_result ("" when confirmed).
	UnconfirmedReason string `json:"unconfirmed_reason,omitempty"`
}

// FactNotice describes a notice in a notice fact. The payload as
// received (which may hold names and contacts) is the fact's detail.
type FactNotice struct {
	// Kind is the notice kind (KindSealAudit…).
	Kind string `json:"kind"`
	// Type is the notice's type (callbackType, or the field that names it).
	Type string `json:"type"`
	Key  string `json:"key,omitempty"`
	// ReceivedAt is when the receiver stored the callback.
	ReceivedAt time.Time `json:"received_at"`
}

// FactDocument describes one archived document in a documents.archived fact.
type FactDocument struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Path   string `json:"path"`
}
