package admin

import (
	"encoding/json"
	"time"

	"github.com/qyshook/qyshook/store"
)

// The JSON shapes of the API (snake_case, times in RFC 3339 UTC). Each
// view function masks personal data unless unmasked is true.

type contractView struct {
	Tenant      string          `json:"tenant"`
	ID          string          `json:"id"`
	BizID       string          `json:"biz_id"`
	Subject     string          `json:"subject"`
	Status      string          `json:"status"`
	Confirmed   bool            `json:"confirmed"`
	UpdatedAt   time.Time       `json:"updated_at"`
	CompletedAt *time.Time      `json:"completed_at"`
	Detail      json.RawMessage `json:"detail,omitempty"`
	Signatories []signatoryView `json:"signatories,omitzero"`
	Documents   []documentView  `json:"documents,omitzero"`
	Events      []eventView     `json:"events,omitzero"`
}

type signatoryView struct {
	ID         string `json:"id"`
	TenantType string `json:"tenant_type"`
	TenantName string `json:"tenant_name"`
	Status     string `json:"status"`
	SerialNo   int    `json:"serial_no"`
}

type documentView struct {
	ID         string     `json:"id"`
	ContractID string     `json:"contract_id"`
	Title      string     `json:"title"`
	SHA256     string     `json:"sha256,omitempty"`
	Size       int64      `json:"size"`
	Path       string     `json:"path,omitempty"`
	FetchedAt  *time.Time `json:"fetched_at"`
	// The archive queue: pending, archived, failed ("" when not queued).
	ArchiveState  string     `json:"archive_state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// The archived file's signature check (package pdfverify): valid,
	// invalid or no-signatures; "" when it was not verified.
	VerifyVerdict    string     `json:"verify_verdict,omitempty"`
	VerifySignatures int        `json:"verify_signatures,omitempty"`
	VerifiedAt       *time.Time `json:"verified_at,omitempty"`
	VerifyProblem    string     `json:"verify_problem,omitempty"`
}

type eventView struct {
	ID         string          `json:"id"`
	Tenant     string          `json:"tenant"`
	Kind       string          `json:"kind"`
	Type       string          `json:"type"`
	ContractID string          `json:"contract_id,omitempty"`
	Source     string          `json:"source"`
	ReceivedAt time.Time       `json:"received_at"`
	AppliedAt  time.Time       `json:"applied_at"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// certificationView is a certification. State is the lifecycle state;
// Status the raw code the source sent (its meaning depends on the source).
// Success is State == SUCCESS whoever said it: only Confirmed says the
// certification-result API did, so a client shows an unconfirmed success
// as unconfirmed (Reason says why). Answer, the API's answer kept when it
// was not recognised, may hold personal data: operators only.
type certificationView struct {
	Tenant     string          `json:"tenant"`
	RequestID  string          `json:"request_id"`
	Kind       string          `json:"kind"`
	State      string          `json:"state"`
	Status     string          `json:"status"`
	Success    bool            `json:"success"`
	Confirmed  bool            `json:"confirmed"`
	Pending    bool            `json:"pending"`
	Reason     string          `json:"reason"`
	Mode       string          `json:"mode"`
	Name       string          `json:"name"`
	FailReason string          `json:"fail_reason"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Answer     json.RawMessage `json:"answer,omitempty"`
	Detail     json.RawMessage `json:"detail,omitempty"`
}

type deadLetterView struct {
	ID         int64           `json:"id"`
	EventID    string          `json:"event_id"`
	Tenant     string          `json:"tenant"`
	Consumer   string          `json:"consumer"`
	Subject    string          `json:"subject"`
	StreamSeq  uint64          `json:"stream_seq"`
	Reason     string          `json:"reason"`
	Deliveries int             `json:"deliveries"`
	CreatedAt  time.Time       `json:"created_at"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// jsonOut returns stored JSON as is, or masked. Stored bytes that are not
// JSON are sent as a JSON string, so the answer stays valid.
func jsonOut(raw []byte, unmasked bool) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	if !unmasked {
		return MaskJSON(raw)
	}
	if json.Valid(raw) {
		return raw
	}
	b, _ := json.Marshal(string(raw))
	return b
}

func name(kind maskKind, s string, unmasked bool) string {
	if unmasked {
		return s
	}
	return mask(kind, s)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewContract(c store.Contract, unmasked bool) contractView {
	v := contractView{
		Tenant: c.Tenant, ID: c.ID, BizID: c.BizID, Subject: c.Subject, Status: c.Status,
		Confirmed: c.Confirmed, UpdatedAt: c.UpdatedAt.UTC(), CompletedAt: utc(c.CompletedAt),
	}
	for _, s := range c.Signatories {
		v.Signatories = append(v.Signatories, signatoryView{
			ID: s.ID, TenantType: s.TenantType, TenantName: name(maskName, s.TenantName, unmasked),
			Status: s.Status, SerialNo: s.SerialNo,
		})
	}
	for _, d := range c.Documents {
		v.Documents = append(v.Documents, documentView{
			ID: d.ID, ContractID: d.ContractID, Title: d.Title, SHA256: d.SHA256, Size: d.Size,
			Path: d.Path, FetchedAt: utc(d.FetchedAt), ArchiveState: d.ArchiveState, Attempts: d.Attempts,
			LastError: d.LastError, NextAttemptAt: utc(d.NextAttemptAt),
			VerifyVerdict: d.VerifyVerdict, VerifySignatures: d.VerifySignatures,
			VerifiedAt: utc(d.VerifiedAt), VerifyProblem: d.VerifyProblem,
		})
	}
	return v
}

func viewEvent(e store.Event, unmasked bool) eventView {
	return eventView{
		ID: e.ID, Tenant: e.Tenant, Kind: e.Kind, Type: e.Type, ContractID: e.ContractID, Source: e.Source,
		ReceivedAt: e.ReceivedAt.UTC(), AppliedAt: e.AppliedAt.UTC(), Payload: jsonOut(e.Payload, unmasked),
	}
}

func viewCertification(c store.Certification, unmasked bool) certificationView {
	v := certificationView{
		Tenant: c.Tenant, RequestID: c.RequestID, Kind: c.Kind, State: c.CertState(), Status: c.Status,
		Success: c.Success, Confirmed: c.Confirmed, Pending: c.Pending, Reason: c.Reason,
		Mode: c.Mode, Name: name(maskName, c.Name, unmasked), FailReason: c.FailReason, UpdatedAt: c.UpdatedAt.UTC(),
	}
	if c.Confirmed {
		v.Reason = ""
	}
	if unmasked && !c.Confirmed {
		v.Answer = jsonOut(c.Answer, true)
	}
	return v
}

func viewDeadLetter(d store.DeadLetter, unmasked, payload bool) deadLetterView {
	v := deadLetterView{
		ID: d.ID, EventID: d.EventID, Tenant: d.Tenant, Consumer: d.Consumer, Subject: d.Subject,
		StreamSeq: d.StreamSeq, Reason: d.Reason, Deliveries: d.Deliveries, CreatedAt: d.CreatedAt.UTC(),
	}
	if payload {
		v.Payload = jsonOut(d.Payload, unmasked)
	}
	return v
}
