package store

import (
	"context"
	"errors"
	"time"
)

// ErrRowEdited: a row's content no longer matches its last receipt-log
// leaf (it was edited outside qyshook). No evidence is built over it.
var ErrRowEdited = errors.New("store: row edited after its last receipt-log leaf")

// RowContent is one ledger row as the receipt log saw it: the bytes its
// leaf's sha256 covers and the leaf itself.
type RowContent struct {
	Kind, Tenant, Ref string
	// Content is the row's canonical content, byte for byte what the
	// leaf's sha256 hashes: {"row":[…],"signatories":[…]} with hashed
	// columns as hex SHA-256.
	Content []byte
	// Columns names the values of "row" in Content, in order.
	Columns []string
	// Body is the raw value of the column the leaf's body_sha256 covers
	// (an event's or fact's payload, a contract's confirming detail
	// answer); nil when the leaf has none.
	Body []byte
	// Leaf is the row's latest leaf (its index and canonical bytes).
	Leaf LogLeaf
}

// Bundle is one evidence bundle of a contract (table evidence_bundles).
type Bundle struct {
	Tenant, ContractID string
	// Version counts the contract's bundles from 1: a later state makes a
	// new one, the old ones are kept.
	Version int
	// State is the contract's status the bundle was built over.
	State string
	// ContractLeaf is the contract row's latest leaf the bundle covers;
	// CheckpointSize the tree size of the checkpoint its proofs are in.
	ContractLeaf, CheckpointSize int64
	// SHA256 and Size describe the zip file; Path is relative to the
	// data dir.
	SHA256 string
	Size   int64
	Path   string
	// Items and Discrepancies count the bundle's items and the
	// discrepancies its summary records.
	Items, Discrepancies int
	BuiltAt              time.Time
}

// DueContract is a contract whose evidence bundle is due (EvidenceDue).
type DueContract struct {
	Tenant, ID, Status string
	// ContractLeaf is the contract row's latest leaf.
	ContractLeaf int64
	// LastVersion is the latest bundle's version (0: none yet).
	LastVersion int
}

// EvidenceRefs names the rows of one contract a bundle gathers.
type EvidenceRefs struct {
	// Events, Facts and Documents are row refs (ids), oldest first for
	// events and facts.
	Events, Facts, Documents []string
}

// EvidenceStore keeps the evidence bundles and reads what they are
// built from. The SQL ledgers implement it beside Ledger (a Ledger value
// can be asserted to EvidenceStore).
type EvidenceStore interface {
	// RowEvidence returns a row's canonical content and latest leaf
	// (kind is a receipt-log kind: contract, event, fact, document…). It
	// returns ErrNotFound when the row or its leaf is missing, and an
	// error wrapping ErrRowEdited when the row no longer matches the leaf.
	RowEvidence(ctx context.Context, kind, tenant, ref string) (RowContent, error)
	// EvidenceRefs lists the events, facts and documents of a contract.
	EvidenceRefs(ctx context.Context, tenant, contractID string) (EvidenceRefs, error)
	// EvidenceDue lists up to limit contracts (limit <= 0: 100) that are
	// COMPLETE or terminal, confirmed, with no document still pending
	// archive, and whose latest contract leaf is newer than their latest
	// bundle's (or that have none), oldest leaf first. It reads a queue
	// the ledger writes in the commit of each such contract leaf, not
	// every ended contract; listing takes nothing off it.
	EvidenceDue(ctx context.Context, limit int) ([]DueContract, error)
	// SaveBundle records a bundle (BuiltAt defaults to now) with its
	// receipt-log leaf, and takes the contract off the due queue unless
	// a contract leaf newer than b.ContractLeaf queued it again. A bundle
	// of that version already stored makes it return ErrDuplicate, and
	// nothing is written.
	SaveBundle(ctx context.Context, b Bundle) error
	// Bundles lists a contract's bundles, newest version first.
	Bundles(ctx context.Context, tenant, contractID string) ([]Bundle, error)
	// Bundle returns one version (0: the latest), or ErrNotFound.
	Bundle(ctx context.Context, tenant, contractID string, version int) (*Bundle, error)
	// ContractAnswers lists the detail answers that confirmed the
	// contract's states, oldest first, each once (migration 0019 kept
	// only the then-current answer of contracts written before it).
	ContractAnswers(ctx context.Context, tenant, contractID string) ([]ContractAnswer, error)
}

// ContractAnswer is one /v2/contract/detail answer that confirmed a state
// of a contract (table contract_answers), kept after the row's detail
// moved on.
type ContractAnswer struct {
	// SHA256 is the hex SHA-256 of Answer: the body_sha256 of the
	// contract leaf it confirmed.
	SHA256 string
	// Answer is the answer byte for byte as the ledger stored it.
	Answer []byte
	// FirstAt is when the ledger first kept it.
	FirstAt time.Time
}
