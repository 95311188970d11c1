// Package store holds the ledger: what qyshook knows about contracts,
// signatories, documents and certifications, the events applied, the outbox
// of facts for subscribers and the dead letters. Two real implementations
// share one SQL layer (store/internal/sqlstore): SQLite (store/sqlite) and
// PostgreSQL (store/postgres). Open picks one from a URL.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
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
	ReceivedAt time.Time
	AppliedAt  time.Time
	Payload    json.RawMessage
}

// Contract is the ledger row of one contract.
type Contract struct {
	Tenant      string
	ID          string
	BizID       string
	Subject     string
	Status      string
	Confirmed   bool // status came from /v2/contract/detail, not the callback
	UpdatedAt   time.Time
	CompletedAt *time.Time
	Detail      json.RawMessage // the detail JSON as the API sent it
	Signatories []Signatory
	Documents   []Document
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
// are set once the file is archived.
type Document struct {
	ID         string
	ContractID string
	Title      string
	SHA256     string
	Size       int64
	Path       string // relative to the data dir
	FetchedAt  *time.Time
}

// Certification is a person's or a company's real-name certification.
type Certification struct {
	Tenant     string
	RequestID  string
	Kind       string // personal or company
	Status     string
	Success    bool
	Mode       string
	Name       string
	FailReason string
	UpdatedAt  time.Time
}

// Fact is one message for QYS_LEDGER, written to the outbox in the same
// transaction as the change it describes. The relay publishes it with
// Nats-Msg-Id = ID, so a crash between commit and publish neither loses nor
// doubles it.
type Fact struct {
	ID      string
	Subject string
	// Tenant and ContractID name the contract the fact is about; the store
	// numbers a contract's facts in order (Seq) when it writes them.
	Tenant      string
	ContractID  string
	Seq         int64
	Payload     []byte
	CreatedAt   time.Time
	PublishedAt *time.Time
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
}

// ContractChange applies one contract event. The store records Event and,
// when Contract moves the ledger forward (see Advances), writes the
// contract, its signatories and its documents (metadata only) and the Facts
// produced by BuildFacts — all in one transaction.
type ContractChange struct {
	Event    Event
	Contract Contract
	// BuildFacts is called inside the transaction with the previous status
	// ("" for a new contract) when the change is applied; the facts it
	// returns go to the outbox. It is not called when nothing changes.
	BuildFacts func(previous *Contract) []Fact
}

// Applied tells what ApplyContract did.
type Applied struct {
	Changed  bool      // the contract row moved forward
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
	// ApplyContracts applies several changes in one transaction, in order
	// (a batch: one commit instead of one per event). It returns one
	// result and one error per change; a change whose event was applied
	// before gets ErrDuplicate and the others still apply. Any other
	// failure rolls everything back and is returned as err. Its results'
	// Current is the row as written, without documents (not read back).
	ApplyContracts(ctx context.Context, chs []ContractChange) ([]Applied, []error, error)
	// ArchiveDocument records an archived document file and its facts. It
	// is idempotent: archiving the same document again with the same hash
	// changes nothing and writes no fact.
	ArchiveDocument(ctx context.Context, tenant string, doc Document, facts []Fact) (changed bool, err error)
	// ApplyCertification records a certification event. ErrDuplicate as
	// for ApplyContract.
	ApplyCertification(ctx context.Context, ev Event, c Certification) error
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
