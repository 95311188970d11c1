package adminapi

import (
	"encoding/json"
	"time"
)

// Contract is a contract as GET /contracts lists it.
type Contract struct {
	Tenant      string     `json:"tenant"`
	ID          string     `json:"id"`
	BizID       string     `json:"biz_id"`
	Subject     string     `json:"subject"`
	Status      string     `json:"status"`
	Confirmed   bool       `json:"confirmed"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

// ContractPage is a page of GET /contracts with Total, the contracts the
// filters select (all pages; absent when the ledger cannot count).
type ContractPage struct {
	Page[Contract]
	Total *int64 `json:"total,omitempty"`
}

// ContractDetail is GET /contracts/{tenant}/{id}: the contract with its
// detail (as the open API sent it, masked for viewers), signatories,
// documents and the events applied to it, oldest first.
type ContractDetail struct {
	Contract
	Detail      json.RawMessage `json:"detail,omitempty"`
	Signatories []Signatory     `json:"signatories"`
	Documents   []Document      `json:"documents"`
	Events      []Event         `json:"events"`
	// LogIndexes are the receipt log's leaves of the contract row, oldest
	// first (its states as the ledger recorded them).
	LogIndexes []int64 `json:"log_indexes,omitempty"`
}

// Signatory is one signatory of a contract; TenantName is personal data.
type Signatory struct {
	ID         string `json:"id"`
	TenantType string `json:"tenant_type"`
	TenantName string `json:"tenant_name"`
	Status     string `json:"status"`
	SerialNo   int    `json:"serial_no"`
}

// Document is one document of a contract, with its archive state.
type Document struct {
	ID         string     `json:"id"`
	ContractID string     `json:"contract_id"`
	Title      string     `json:"title"`
	SHA256     string     `json:"sha256,omitempty"`
	Size       int64      `json:"size"`
	Path       string     `json:"path,omitempty"`
	FetchedAt  *time.Time `json:"fetched_at"`
	// ArchiveState is the archive queue's state: pending, archived or
	// failed ("" when not queued).
	ArchiveState  string     `json:"archive_state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// VerifyVerdict is the archived file's signature check: valid,
	// invalid or no-signatures; "" when it was not verified.
	VerifyVerdict    string     `json:"verify_verdict,omitempty"`
	VerifySignatures int        `json:"verify_signatures,omitempty"`
	VerifiedAt       *time.Time `json:"verified_at,omitempty"`
	VerifyProblem    string     `json:"verify_problem,omitempty"`
	// ValidationSHA256 and ValidationPath name the material the
	// verification rests on, archived beside the file (certificate
	// chains, OCSP and CRL answers; docs/evidence.md), and
	// ValidationStatus is the worst revocation status in it (good,
	// unknown, unreachable, no-issuer, invalid, revoked).
	ValidationSHA256 string `json:"validation_sha256,omitempty"`
	ValidationPath   string `json:"validation_path,omitempty"`
	ValidationStatus string `json:"validation_status,omitempty"`
	// Discrepancies are the disagreements between this PDF and its
	// contract's API detail; absent when it was not compared (not a PDF,
	// an unconfirmed contract), empty when they agree.
	Discrepancies []Discrepancy `json:"discrepancies,omitempty"`
	// Compared says whether the cross-source check ran on this document.
	Compared bool `json:"compared"`
	// LogIndex is the document's last leaf in the receipt log (its
	// metadata, or the archived file's hash once archived).
	LogIndex *int64 `json:"log_index,omitempty"`
}

// Discrepancy is one disagreement between sources about a contract
// (package crosscheck). For viewers the party is masked and the detail,
// which may name people, is left out.
type Discrepancy struct {
	// Kind: missing_signature, unknown_signer, signed_after_completion or
	// document_invalid.
	Kind     string `json:"kind"`
	Document string `json:"document,omitempty"`
	Party    string `json:"party,omitempty"`
	// Event is the ledger event id of the callback concerned.
	Event  string `json:"event,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Event is an event the ledger applied (GET /events, and the events of a
// ContractDetail). Payload is masked for viewers. TraceID is the W3C trace
// id of the callback's trace (the traceparent 契约锁 or a proxy sent, else
// a new one), which its spans carry when traces are exported over OTLP.
type Event struct {
	ID         string          `json:"id"`
	Tenant     string          `json:"tenant"`
	Kind       string          `json:"kind"`
	Type       string          `json:"type"`
	ContractID string          `json:"contract_id,omitempty"`
	Source     string          `json:"source"`
	TraceID    string          `json:"trace_id,omitempty"` // the callback's W3C trace id (absent: none)
	ReceivedAt time.Time       `json:"received_at"`
	AppliedAt  time.Time       `json:"applied_at"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	// LogIndex is the event's leaf in the receipt log (absent: none).
	LogIndex *int64 `json:"log_index,omitempty"`
}

// Certification is a real-name certification (GET /certifications and
// /certifications/{tenant}/{request_id}). State is the lifecycle state;
// Status the raw code the source sent (its meaning depends on the
// source). Success is State == SUCCESS whoever said it: only Confirmed
// says the certification-result API did, so a client shows an
// unconfirmed success as unconfirmed (Reason says why). Answer, the API's
// answer kept when it was not recognised, may hold personal data: sent to
// operators only. Detail is sent by the one-certification route.
type Certification struct {
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

// DeadLetter is an event the dispatcher gave up on (GET /dead-letters
// lists them without Payload; /dead-letters/{id} has it).
type DeadLetter struct {
	ID         int64     `json:"id"`
	EventID    string    `json:"event_id"`
	Tenant     string    `json:"tenant"`
	Consumer   string    `json:"consumer"`
	Subject    string    `json:"subject"`
	StreamSeq  uint64    `json:"stream_seq"`
	Reason     string    `json:"reason"`
	Deliveries int       `json:"deliveries"`
	CreatedAt  time.Time `json:"created_at"`
	// Kind, Type and ContractID are read from the dead-lettered envelope
	// ("" when it cannot be decoded); Issue is the key of its
	// DeadLetterIssue.
	Kind       string `json:"kind"`
	Type       string `json:"type"`
	ContractID string `json:"contract_id"`
	Issue      string `json:"issue"`
	// ReceivedAt is when the receiver took the callback (from the
	// envelope; null when it cannot be decoded).
	ReceivedAt *time.Time `json:"received_at"`
	// RetryOf is the dead letter this one replaced: a retry of it failed
	// again (0: none); Retries counts the event's retries so far and
	// FirstFailedAt is when it was first dead-lettered (null: this time).
	RetryOf       int64           `json:"retry_of"`
	Retries       int             `json:"retries"`
	FirstFailedAt *time.Time      `json:"first_failed_at"`
	Payload       json.RawMessage `json:"payload,omitempty"`
}

// Stream is one JetStream stream of GET /streams and its consumers.
type Stream struct {
	Name      string     `json:"name"`
	Messages  uint64     `json:"messages"`
	Bytes     uint64     `json:"bytes"`
	FirstSeq  uint64     `json:"first_seq"`
	LastSeq   uint64     `json:"last_seq"`
	LastTime  *time.Time `json:"last_time"`
	Consumers []Consumer `json:"consumers"`
	// Error says why the stream could not be read (e.g. "stream not found").
	Error string `json:"error,omitempty"`
}

// Consumer is one consumer of a Stream.
type Consumer struct {
	Name         string `json:"name"`
	Pending      uint64 `json:"pending"`
	AckPending   int    `json:"ack_pending"`
	Redelivered  int    `json:"redelivered"`
	Waiting      int    `json:"waiting"`
	DeliveredSeq uint64 `json:"delivered_seq"`
	AckFloorSeq  uint64 `json:"ack_floor_seq"`
	PushBound    bool   `json:"push_bound"`
}

// QueuedDocument is a document of the archive queue (GET /documents).
type QueuedDocument struct {
	Tenant        string     `json:"tenant"`
	ID            string     `json:"id"`
	ContractID    string     `json:"contract_id"`
	Title         string     `json:"title"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	SHA256        string     `json:"sha256,omitempty"`
	Size          int64      `json:"size"`
	FetchedAt     *time.Time `json:"fetched_at"`
}

// AuditEntry is one audited write (GET /audit). Who is role:fingerprint
// of the token; Action is "METHOD route", or "JOB replay" / "JOB
// reconcile" when a job ends; Selector is what the write selected.
type AuditEntry struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Who      string          `json:"who"`
	Action   string          `json:"action"`
	Selector json.RawMessage `json:"selector"`
	Count    int64           `json:"count"`
	Outcome  string          `json:"outcome"`
	JobID    string          `json:"job_id,omitempty"`
}

// LiveEvent is the data of one Server-Sent Event of GET /events/live
// (event "callback" or "fact"). Actor names are masked for viewers.
type LiveEvent struct {
	Subject    string    `json:"subject"`
	Tenant     string    `json:"tenant"`
	Kind       string    `json:"kind"`
	Type       string    `json:"type"`
	ContractID string    `json:"contract_id"`
	Status     string    `json:"status"`
	Actor      string    `json:"actor,omitempty"`
	At         time.Time `json:"at"`
}

// Fact is one fact of GET /contracts/{tenant}/{id}/facts, as it is on the
// ledger stream.
type Fact struct {
	StreamSeq      uint64         `json:"stream_seq"`
	Subject        string         `json:"subject"`
	ID             string         `json:"id"`
	Kind           string         `json:"kind"`
	Seq            int64          `json:"seq"`
	Status         string         `json:"status,omitempty"`
	PreviousStatus string         `json:"previous_status,omitempty"`
	Confirmed      bool           `json:"confirmed"`
	Source         string         `json:"source,omitempty"`
	CauseEventID   string         `json:"cause_event_id,omitempty"`
	Documents      []FactDocument `json:"documents,omitempty"`
	// Discrepancy is the kind and document of a discrepancy fact.
	Discrepancy *FactDiscrepancy `json:"discrepancy,omitempty"`
	OccurredAt  time.Time        `json:"occurred_at"`
	// LogIndex is the fact's leaf in the receipt log (absent: none, or the
	// ledger's outbox row was written before the log).
	LogIndex *int64 `json:"log_index,omitempty"`
}

// FactDiscrepancy is the discrepancy of a discrepancy Fact
// (events.FactDiscrepancy).
type FactDiscrepancy struct {
	Kind       string `json:"kind"`
	DocumentID string `json:"document_id"`
	SHA256     string `json:"sha256"`
	EventID    string `json:"event_id,omitempty"`
}

// FactDocument is one archived document of a documents.archived Fact.
type FactDocument struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Path   string `json:"path"`
}
