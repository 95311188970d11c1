// Package store holds the ledger: what qyshook knows about contracts,
// signatories, documents and certifications, the events applied, the outbox
// of facts for subscribers and the dead letters. Two real implementations
// share one SQL layer (store/internal/sqlstore): SQLite (store/sqlite) and
// PostgreSQL (store/postgres). Open picks one from a URL.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
)

// Sentinel errors callers branch on.
var (
	// ErrDuplicate: the event id was applied before; nothing changed.
	ErrDuplicate = errors.New("store: event already applied")
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("store: not found")
)

// Event is one applied event, recorded in the same transaction as its
// effects so a redelivery changes nothing.
type Event struct {
	ID         string
	Tenant     string
	Kind       string // contract, auth.personal, auth.company
	Type       string // callbackType, or RECONCILE
	ContractID string
	Source     string // callback, reconcile, ingest
	// TraceID is the W3C trace id (32 lowercase hex digits) of the
	// callback's trace, "" when it has none (events.trace_id, NULL).
	TraceID    string
	ReceivedAt time.Time
	AppliedAt  time.Time
	Payload    json.RawMessage
	// StreamSeq is the QYS_CALLBACKS stream sequence the event came with
	// (0: unknown); the receipt log's leaf carries it, the row does not.
	StreamSeq uint64
}

// Contract is the ledger row of one contract.
type Contract struct {
	Tenant    string
	ID        string
	BizID     string
	Subject   string
	Status    string
	Confirmed bool // status came from /v2/contract/detail, not the callback
	// FetchedAt and FetchEndedAt are when the detail fetch behind the
	// row began and ended (the newest fetch applied to or confirming it);
	// zero for a callback-only change (the store then keeps the row's). A
	// zero FetchEndedAt with a FetchedAt takes the fetch as instantaneous.
	// Fetches order two views only when one ended before the other began
	// (see Advances).
	FetchedAt    time.Time
	FetchEndedAt time.Time
	UpdatedAt    time.Time
	CompletedAt  *time.Time
	Detail       json.RawMessage // the detail JSON as the API sent it
	Signatories  []Signatory
	Documents    []Document
}

// Signatory is one party of a contract.
type Signatory struct {
	ID         string
	TenantType string
	TenantName string
	Status     string
	SerialNo   int
}

// Document is one document of a contract. SHA256, Size, Path and FetchedAt
// are set once the file is archived. The archive fields say where the
// document is in the archive queue (see ClaimDocuments); the store sets
// them, callers of ApplyContract leave them empty.
type Document struct {
	ID         string
	ContractID string
	Title      string
	SHA256     string
	Size       int64
	Path       string // relative to the data dir
	FetchedAt  *time.Time

	Tenant        string // set when read through the archive queue methods
	ArchiveState  string // ArchiveNone, ArchivePending, ArchiveArchived, ArchiveFailed
	Attempts      int    // downloads tried since it was (re)queued
	LastError     string // the last failure ("" after a success)
	NextAttemptAt *time.Time
	LastAttemptAt *time.Time
	LeaseOwner    string // the archiver working it ("" when none)
	LeaseUntil    *time.Time

	// Verification of the archived file (package pdfverify), recorded by
	// ArchiveDocument with the file. VerifyVerdict is "" when the file was
	// not verified (not a PDF, or archived before verification existed),
	// else valid, invalid or no-signatures.
	VerifyVerdict    string
	VerifySignatures int        // embedded signatures found
	VerifiedAt       *time.Time // when it was verified
	VerifyProblem    string     // why it is not valid ("" when valid)

	// The material the verification rests on (pdfverify.ValidationData,
	// JSON), archived beside the file at the same time (migration 0016):
	// its SHA-256 and path in the document store, and the worst
	// revocation status in it. Empty when none was collected.
	ValidationSHA256 string
	ValidationPath   string
	ValidationStatus string

	// Discrepancies is the cross-source check of the file (package
	// crosscheck, migration 0016): a JSON array of {kind, document, party,
	// detail}; "" when it was not compared, "[]" when it agreed.
	Discrepancies string

	// Generation counts the times the row was queued again after a later
	// state of its contract (ContractChange.RefreshDocuments). Claims
	// return it; an archiver passes it back to ArchiveDocument with
	// LeaseOwner, which records the fetch only while the row still has it.
	Generation int64
	// Traceparent is the W3C trace context of the commit that last queued
	// the document (documents.traceparent), set by ClaimDocuments only:
	// the archiver downloads it as a span of that trace.
	Traceparent string
}

// DocumentVersion is one content a document was archived with. The
// document row names the latest; DocumentVersions lists them all.
type DocumentVersion struct {
	Tenant     string
	ID         string
	ContractID string
	SHA256     string
	Size       int64
	Path       string // relative to the data dir; content-addressed, never rewritten
	FetchedAt  time.Time
	// ValidationSHA256 and ValidationPath name the verification material
	// archived with this version (Document.ValidationSHA256; migration 0016).
	ValidationSHA256 string
	ValidationPath   string
}

// Archive states of a document.
const (
	// ArchiveNone: not queued (its contract is not signed).
	ArchiveNone = ""
	// ArchivePending: to be downloaded once NextAttemptAt is due.
	ArchivePending = "pending"
	// ArchiveArchived: the file is stored; SHA256 and Path name it.
	ArchiveArchived = "archived"
	// ArchiveFailed: a permanent failure (such as a 404) or out of
	// attempts; LastError says why. A document-level state: the contract
	// stays as committed.
	ArchiveFailed = "failed"
)

// DocumentFilter selects documents of the archive queue to list.
type DocumentFilter struct {
	Tenant string   // empty: all tenants
	States []string // empty: any state
	Limit  int      // <= 0: no limit
}

// DocumentFailure is one failed download of a claimed document.
type DocumentFailure struct {
	Tenant string
	ID     string
	Owner  string // the lease owner that claimed it
	Err    string // the reason, kept as LastError
	// Permanent ends the row in ArchiveFailed; otherwise it stays pending
	// until RetryAt.
	Permanent bool
	RetryAt   time.Time
}

// Document ids of the pseudo-documents the archiver keeps beside a
// contract's signed files: the dispatcher names them when it queues a
// contract's documents, the archiver knows them by these suffixes.
// BundleSuffix ends the document id of a contract's signed bundle
// (contract and sign log zip): "<contractID>.bundle".
const BundleSuffix = ".bundle"

// OplogSuffix ends the document id of a contract's operation log
// (GET /v2/contract/stream, 合同管理-获取合同操作记录, or the private cloud's
// /contract/operationlog: the archiver fetches it): "<contractID>.oplog",
// archived as the JSON `result` exactly as the platform sent it, and
// archived again after each later state of the contract (the dispatcher
// queues it with ContractChange.RefreshDocuments).
const OplogSuffix = ".oplog"

// ItemInfix joins a contract id and a /v2/contract/download item
// (ATTACHMENT, NOTARY, ENDSIGN_ATTACHMENT) in the document id of that
// item's download: "<contractID>.item.NOTARY". The archiver fetches it
// with downloadItems=<item> and keeps the answer (a zip) as sent, or,
// when the platform refuses it, the refusal (docs/evidence.md).
const ItemInfix = ".item."

// Certification is a person's or a company's real-name certification.
type Certification struct {
	Tenant    string
	RequestID string
	Kind      string // personal or company
	// Status is the status as 契约锁 sent it: the callback's code or type
	// (qys.AuthStatus*, COMPANY_AUTH_SUCCESS…) or, when Confirmed, the
	// certification-result answer's code, whose meanings differ. Read
	// State, not Status.
	Status string
	// State is the lifecycle state (lifecycle.Cert*). Empty on input and on
	// rows written before it existed: derived from Status and Success
	// (lifecycle.CertState) then.
	State      string
	Success    bool
	Mode       string
	Name       string
	FailReason string
	// Confirmed: State came from the certification-result API
	// (/companyauth/result, /v2/personalauth/result), not a callback.
	Confirmed bool
	// Reason says why an unconfirmed row is unconfirmed (CertReason*); ""
	// when confirmed.
	Reason string
	// Answer is the certification-result answer as sent when it did not
	// confirm the row (Reason CertReasonUnrecognized); nil otherwise.
	Answer json.RawMessage
	// Pending: the reconciler still polls it (lifecycle.CertPending); the
	// store sets it, callers leave it.
	Pending bool
	// Detail is the API's result object as sent (or the callback payload
	// for an unconfirmed row).
	Detail    json.RawMessage
	UpdatedAt time.Time
}

// Why a certification is unconfirmed (Certification.Reason).
const (
	// CertReasonNoAPI: the tenant has no API credentials (or an API
	// without the certification-result calls).
	CertReasonNoAPI = "no_api"
	// CertReasonNotFound: the API does not know the certification (code
	// 1604 INVALID_AUTHID, or company status -1).
	CertReasonNotFound = "not_found"
	// CertReasonUnrecognized: the API answered in a shape qyshook does not
	// recognise; the answer is kept in Answer (qys.UnrecognizedResult).
	CertReasonUnrecognized = "unrecognized_result"
	// CertReasonReread: confirmed before 2026-12 with the callback's codes
	// (migration 0008 withdrew the confirmation); the reconciler asks the
	// API again.
	CertReasonReread = "reread"
)

// CertState is the certification's lifecycle state: State, or for rows
// written before it existed the state derived from Status and Success.
func (c *Certification) CertState() string {
	if c.State != "" {
		return c.State
	}
	return lifecycle.CertState(c.Status, c.Success)
}

// CertView is the lifecycle view of a certification.
func (c *Certification) CertView() lifecycle.CertView {
	return lifecycle.CertView{State: c.CertState(), Confirmed: c.Confirmed}
}

// CertKey is a certification's place in the (updated_at, request_id)
// order PendingCertifications pages by.
type CertKey struct {
	UpdatedAt time.Time
	RequestID string
}

// Key is c's CertKey.
func (c *Certification) Key() CertKey { return CertKey{UpdatedAt: c.UpdatedAt, RequestID: c.RequestID} }

// CertificationChange applies one certification event: the store records
// Event and, when Certification moves the ledger forward
// (lifecycle.CertAdvances), writes it and Facts in the same transaction.
// Facts with AfterPrevious get the previous certification state
// (lifecycle.CertState) as for contracts ("" for a new one). Empty Mode,
// Name and FailReason keep the stored ones.
type CertificationChange struct {
	Event         Event
	Certification Certification
	Facts         []Fact
}

// CertificationApplied tells what ApplyCertificationChange did.
type CertificationApplied struct {
	Changed  bool
	Previous *Certification // nil for a new certification
	Current  *Certification // the row after
}

// Fact is one message for QYS_LEDGER, written to the outbox in the same
// transaction as the change it describes. The relay publishes it with
// Nats-Msg-Id = ID, so a crash between commit and publish neither loses nor
// doubles it.
type Fact struct {
	ID      string
	Subject string
	// Tenant and ContractID name the contract the fact is about; the store
	// numbers a contract's facts 1, 2, 3, … in the order it writes them
	// (Seq, set in the outbox row and as "seq" in Payload, which must then
	// be a JSON object). The contract must be in the ledger. Seq is
	// ignored on input.
	Tenant     string
	ContractID string
	Seq        int64
	// AfterPrevious marks a fact about a state change: when it is written
	// its id becomes FactIDAfter(ID, previous status, Seq) and its payload
	// gets the "previous_status" and "id" members, because only the
	// writing transaction knows the status the contract came from and the
	// fact's number.
	AfterPrevious bool
	Payload       []byte
	CreatedAt     time.Time
	PublishedAt   *time.Time
	// Traceparent is the W3C trace context of the commit that wrote the
	// fact (outbox.traceparent, NULL when ""): the relay publishes the
	// fact in that trace, with a traceparent header.
	Traceparent string
}

// DeadLetter is an event that could not be applied.
type DeadLetter struct {
	ID         int64
	EventID    string
	Tenant     string
	Consumer   string
	Subject    string
	StreamSeq  uint64
	Reason     string
	Deliveries int
	Payload    []byte
	CreatedAt  time.Time
	// RetryOf is the dead letter this one replaced: a retry of it failed
	// again (0: none). Retries counts the retries of the event so far;
	// FirstFailedAt is when it was first dead-lettered (nil: this time).
	RetryOf       int64
	Retries       int
	FirstFailedAt *time.Time
}

// ContractChange applies one contract event. The store records Event and,
// when Contract moves the ledger forward (see Advances), writes the
// contract, its signatories and its documents (metadata only) and Facts —
// all in one transaction. A change is data only: the store runs no caller
// code inside its transaction.
type ContractChange struct {
	Event    Event
	Contract Contract
	// Facts go to the outbox when the change moves the ledger forward, in
	// this order, completed by the store (Seq; and for AfterPrevious facts
	// the previous status and the id that covers it). Nothing is written
	// when nothing changes.
	Facts []Fact
	// ArchiveDocuments queues the contract's documents that are not yet
	// archived (state ArchivePending, due now) in the same transaction.
	// The dispatcher sets it for a contract committed in a signed status;
	// the store does not judge statuses itself.
	ArchiveDocuments bool
	// RefreshDocuments names documents of the contract to fetch again
	// even when archived (the operation log, whose content changes with
	// later states): when the change moves the ledger forward they are
	// queued (pending, due now, attempts 0, lease released) and their
	// Generation raised, in the same transaction, so a fetch that began
	// before the change cannot be recorded as the latest. They must be
	// among the contract's documents (Contract.Documents). A redelivered
	// or refused change queues nothing.
	RefreshDocuments []string
	// Traceparent is the W3C trace context of the commit (the
	// dispatcher's commit span): the documents the change queues keep it
	// for the archive stage. "" leaves them without one.
	Traceparent string
}

// Applied tells what ApplyContract did.
type Applied struct {
	Changed bool // the contract row moved forward
	// Stale: the change was refused only because its detail fetch
	// overlapped the row's, so either may be the newer view (see
	// lifecycle.Stale). Nothing was written, not even the event: the
	// caller should fetch the contract again and apply the event anew.
	Stale    bool
	Previous *Contract // the row before, without its documents (nil for a new contract)
	Current  *Contract // the row after
}

// ContractFilter selects contracts to list.
type ContractFilter struct {
	// Tenant selects one tenant; empty means all.
	Tenant string
	// Status selects these statuses; empty means any.
	Status []string
	// ID and BizID select one contract id or business id; empty means any.
	ID    string
	BizID string
	// IDPrefix selects the contract ids starting with it; empty means any.
	IDPrefix string
	// Subject selects subjects containing this text (case-insensitive for
	// ASCII letters; '%' and '_' match themselves); empty means any.
	Subject string
	// UpdatedBefore selects rows not updated since this time (reconciler).
	UpdatedBefore time.Time
	// UpdatedSince selects rows updated at or after this time, so
	// [UpdatedSince, UpdatedBefore) is a half-open range.
	UpdatedSince time.Time
	// OldestFirst lists the least recently updated rows first (the
	// reconciler's walk) instead of the newest first.
	OldestFirst bool
	// After continues a listing after this row, in the listing's order
	// (keyset pagination: pass the last row of the previous page).
	After *ContractCursor
	Limit int
}

// ContractCursor is a position in a contract listing.
type ContractCursor struct {
	UpdatedAt time.Time
	Tenant    string
	ID        string
}

// CursorOf is the position of c in a listing.
func CursorOf(c Contract) *ContractCursor {
	return &ContractCursor{UpdatedAt: c.UpdatedAt, Tenant: c.Tenant, ID: c.ID}
}

// Ledger is the ledger. All methods are safe for concurrent use.
type Ledger interface {
	// ApplyContract applies a contract event. It returns ErrDuplicate when
	// the event id was applied before (nothing changes). Errors worth a
	// retry satisfy IsTransient (as for every method).
	ApplyContract(ctx context.Context, ch ContractChange) (Applied, error)
	// ApplyContracts applies several changes in one transaction (a batch:
	// one commit instead of one per event). It locks the contracts in
	// (tenant, id) order, whatever the order of chs, so concurrent batches
	// cannot deadlock; the changes of one contract apply in their order in
	// chs. It returns one result and one error per change, in the order of
	// chs; a change whose event was applied
	// before gets ErrDuplicate and the others still apply. Any other
	// failure rolls everything back and is returned as err. Its results'
	// Current is the row as written, without documents (not read back).
	ApplyContracts(ctx context.Context, chs []ContractChange) ([]Applied, []error, error)
	// ArchiveDocument records an archived document file and its facts
	// (their contracts are locked first, as on the apply path). It is
	// idempotent: archiving the same document again with the same hash
	// changes nothing and writes no fact.
	//
	// It also ends the document's archive queue entry: the state becomes
	// ArchiveArchived and the lease is released. An archiver sets
	// doc.LeaseOwner: its success is then recorded only while the row is
	// not archived yet (its lease, or a lease that expired with the row
	// still pending) and while the row has doc.Generation (it was not
	// queued again by a later state meanwhile, RefreshDocuments), so a
	// late second archiver, or a fetch older than the contract's last
	// state, changes nothing. Either way the row names a content-addressed
	// file (Path names its hash), so row and file never disagree. Each
	// content recorded is also kept as a DocumentVersion.
	ArchiveDocument(ctx context.Context, tenant string, doc Document, facts []Fact) (changed bool, err error)
	// ClaimDocuments leases up to limit due pending documents (NextAttemptAt
	// passed, no live lease) to owner until now+lease, oldest due first,
	// and returns them with Tenant set. Two claimers never get one row
	// while its lease lives; an expired lease is claimed again.
	ClaimDocuments(ctx context.Context, owner string, limit int, lease time.Duration) ([]Document, error)
	// RenewDocumentLease extends owner's lease on a pending document to
	// now+lease. It returns false when the row is no longer pending under
	// owner's lease (it expired and another claimer took it, or it ended).
	RenewDocumentLease(ctx context.Context, owner, tenant, id string, lease time.Duration) (bool, error)
	// FailDocument records a failed download of a document owner claimed:
	// attempts+1, LastError, and either ArchiveFailed (Permanent) or a
	// retry at RetryAt. It changes nothing (and returns false) when the
	// row is no longer pending under owner's lease, so a late failure
	// never overrides a success.
	FailDocument(ctx context.Context, f DocumentFailure) (bool, error)
	// RequeueDocuments puts back in the queue (pending, due now, attempts
	// 0) a tenant's documents that failed before failedBefore, and the
	// never-queued documents of contracts in one of signedStatuses. It
	// returns how many rows it queued.
	RequeueDocuments(ctx context.Context, tenant string, signedStatuses []string, failedBefore time.Time) (int64, error)
	// DocumentVersions lists every content a document was archived with,
	// oldest first (fetched_at); the last is the one its row names.
	DocumentVersions(ctx context.Context, tenant, id string) ([]DocumentVersion, error)
	// Documents lists documents with their archive state, oldest due
	// first, for operators.
	Documents(ctx context.Context, f DocumentFilter) ([]Document, error)
	// DocumentCounts counts documents by archive state: every state, or
	// only the states given (the archive queue's pending and failed: a
	// count that reads those rows alone, not the whole table).
	DocumentCounts(ctx context.Context, states ...string) (map[string]int64, error)
	// ApplyCertification records a certification event: it is
	// ApplyCertificationChange without facts. ErrDuplicate as for
	// ApplyContract.
	ApplyCertification(ctx context.Context, ev Event, c Certification) error
	// ApplyCertificationChange applies a certification change (see
	// CertificationChange). ErrDuplicate as for ApplyContract.
	ApplyCertificationChange(ctx context.Context, ch CertificationChange) (CertificationApplied, error)
	// PendingCertifications lists a tenant's pending certifications
	// (Pending) not updated since updatedBefore, least recently updated
	// first, after the key after when not nil (limit <= 0: 100): what the
	// reconciler polls, a page a pass.
	PendingCertifications(ctx context.Context, tenant string, updatedBefore time.Time, after *CertKey, limit int) ([]Certification, error)
	// Certification returns one certification, or ErrNotFound.
	Certification(ctx context.Context, tenant, requestID string) (*Certification, error)
	// Certifications lists a tenant's certifications, newest first.
	Certifications(ctx context.Context, tenant string, limit int) ([]Certification, error)
	// Contract returns one contract with its signatories and documents,
	// or ErrNotFound.
	Contract(ctx context.Context, tenant, id string) (*Contract, error)
	// Contracts lists contracts, newest update first (oldest first with
	// OldestFirst), without their signatories and documents (Contract
	// loads those). Limit <= 0 means no limit; After pages.
	Contracts(ctx context.Context, f ContractFilter) ([]Contract, error)
	// Events lists the events applied to one contract, oldest first.
	Events(ctx context.Context, tenant, contractID string) ([]Event, error)
	// Outbox returns up to limit unpublished facts, oldest first (limit
	// <= 0: all); MarkPublished marks them sent, ignoring unknown ids.
	Outbox(ctx context.Context, limit int) ([]Fact, error)
	MarkPublished(ctx context.Context, ids []string) error
	// PruneOutbox deletes facts published before publishedBefore and
	// returns how many. Unpublished facts are never deleted.
	PruneOutbox(ctx context.Context, publishedBefore time.Time) (int64, error)
	// DeadLetters: add (returns the new id), list oldest first (limit
	// <= 0: all), get and delete; get and delete return ErrNotFound.
	AddDeadLetter(ctx context.Context, d DeadLetter) (int64, error)
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	DeadLetter(ctx context.Context, id int64) (*DeadLetter, error)
	DeleteDeadLetter(ctx context.Context, id int64) error
	// Ping checks the database is usable; Close releases it.
	Ping(ctx context.Context) error
	Close() error
}

// FactIDAfter is the id of a state-change fact whose state-only id is base
// once the status it came from (previous, "" for a contract new to the
// ledger) and the fact's number among its contract's facts (seq) are
// known. Facts are written only when the locked row changes, and a
// redelivered or replayed event changes nothing (event-id dedup,
// Advances), so (tenant, contract, seq) names one fact: a state reached
// again, even from the same status (COMPLETE → INVALIDING → COMPLETE →
// INVALIDING), is a new fact, while the relay publishing one outbox row
// twice (a crash between publish and mark) repeats its id, which the
// stream's duplicate window drops.
func FactIDAfter(base, previous string, seq int64) string {
	h := sha256.New()
	h.Write([]byte(base))
	h.Write([]byte{0})
	h.Write([]byte(previous))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(seq, 10)))
	return "fact-" + hex.EncodeToString(h.Sum(nil)[:16])
}
