package receiptlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Version is the leaf format written today (Leaf.V).
const Version = 1

// Leaf kinds: what a leaf records. The names never change; new kinds may
// be added.
const (
	// KindEvent: an event the dispatcher applied (a callback, a reconcile
	// or an ingest); Ref is the event id, BodySHA256 the hash of the
	// payload bytes exactly as applied.
	KindEvent = "event"
	// KindContract: a contract's row, its signatories and its documents'
	// names after a change; SHA256 covers them (Answer is the detail
	// answer's hash when the API confirmed the state).
	KindContract = "contract"
	// KindCertification: a certification's row after a change.
	KindCertification = "certification"
	// KindDocument: an archived file (its document row: sha256, size, path).
	KindDocument = "document"
	// KindFact: a fact written to the outbox.
	KindFact = "fact"
	// KindAudit: an operator write (an audit row).
	KindAudit = "audit"
	// KindDeadLetter: a dead letter recorded.
	KindDeadLetter = "dead_letter"
	// KindPrune: retention deleted rows; Ref names the table and the first
	// row, SHA256 covers the sorted ids deleted (kept in log_pruned).
	KindPrune = "prune"
	// KindBundle: an evidence bundle built (its evidence_bundles row; Ref
	// is "<contract id>/v<version>", BodySHA256 the zip's SHA-256).
	KindBundle = "bundle"
)

// Leaf is one record of the log. Its canonical bytes (Marshal) are what
// the tree hashes: JSON with the fields in this order, no spaces, empty
// optional fields left out.
type Leaf struct {
	V      int    `json:"v"`
	Kind   string `json:"kind"`
	Tenant string `json:"tenant"`
	// Ref names the row (or file) the leaf describes: the event id, the
	// contract id, the fact id, the audit id…
	Ref string `json:"ref"`
	// SHA256 is the hex SHA-256 of the canonical content of the row as
	// committed (RowHash), which `qyshook verify --log` recomputes.
	SHA256 string `json:"sha256"`
	// BodySHA256 (events) is the hex SHA-256 of the payload bytes as
	// applied, kept after retention deletes the payload.
	BodySHA256 string `json:"body_sha256,omitempty"`
	// Type is the callback type (events) or the fact subject (facts).
	Type string `json:"type,omitempty"`
	// Source (events): callback, reconcile or ingest.
	Source string `json:"source,omitempty"`
	// Verdict (events): "verified" for a callback (the receiver publishes
	// only callbacks whose authenticator it verified; it fails closed).
	Verdict string `json:"verdict,omitempty"`
	// StreamSeq (events): the QYS_CALLBACKS stream sequence, when known.
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	// At is when the thing happened, RFC 3339 UTC (received_at for events).
	At string `json:"at,omitempty"`
	// Size is the archived file's size in bytes (documents).
	Size int64 `json:"size,omitempty"`
	// Found (rows of mutable kinds) is FoundEdited on a leaf that records
	// a row found, at a commit about to write it again, differing from its
	// last leaf: edited outside qyshook. SHA256 (and the other fields)
	// describe the row as it was found; the row's leaf after the write
	// follows it. FoundDeleted records a row found missing at a commit
	// about to create it again, although the log holds a leaf of it
	// (qyshook never deletes contracts, documents or certifications):
	// deleted outside qyshook; SHA256 is its last leaf's, the other
	// fields are empty. `qyshook verify --log` reports every such leaf, so
	// an edit or a deletion a later honest write covers stays visible.
	Found string `json:"found,omitempty"`
}

// Leaf.Found's values.
const (
	// FoundEdited: the row was found edited outside qyshook.
	FoundEdited = "edited"
	// FoundDeleted: the row was found deleted outside qyshook.
	FoundDeleted = "deleted"
)

// Marshal returns l's canonical bytes.
func (l Leaf) Marshal() ([]byte, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("receiptlog: marshal leaf: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (l Leaf) check() error {
	switch {
	case l.V != Version:
		return fmt.Errorf("receiptlog: leaf version %d, want %d", l.V, Version)
	case l.Kind == "":
		return errors.New("receiptlog: leaf without kind")
	case l.Ref == "":
		return errors.New("receiptlog: leaf without ref")
	case len(l.SHA256) != 64 || !isHex(l.SHA256):
		return fmt.Errorf("receiptlog: leaf sha256 %q is not 64 hex digits", l.SHA256)
	case l.BodySHA256 != "" && (len(l.BodySHA256) != 64 || !isHex(l.BodySHA256)):
		return fmt.Errorf("receiptlog: leaf body_sha256 %q is not 64 hex digits", l.BodySHA256)
	case l.Size < 0:
		return fmt.Errorf("receiptlog: leaf size %d is negative", l.Size)
	case l.Found != "" && l.Found != FoundEdited && l.Found != FoundDeleted:
		return fmt.Errorf("receiptlog: leaf found %q is not %q or %q", l.Found, FoundEdited, FoundDeleted)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ErrNotCanonical: the bytes parse as a leaf but are not its canonical
// form (another field order, spaces, an empty optional field written
// out): two byte strings must never describe one leaf.
var ErrNotCanonical = errors.New("receiptlog: leaf bytes are not canonical")

// Parse reads a leaf from its canonical bytes. It refuses unknown fields,
// an unknown version, a malformed hash and bytes that are not exactly
// the canonical form.
func Parse(b []byte) (Leaf, error) {
	var l Leaf
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Leaf{}, fmt.Errorf("receiptlog: parse leaf: %w", err)
	}
	if dec.More() {
		return Leaf{}, errors.New("receiptlog: parse leaf: trailing data")
	}
	again, err := l.Marshal()
	if err != nil {
		return Leaf{}, err
	}
	if !bytes.Equal(again, b) {
		return Leaf{}, ErrNotCanonical
	}
	return l, nil
}

// Hash is the leaf's record hash (RFC 6962 leaf hash of its bytes).
func Hash(leafBytes []byte) tlog.Hash { return tlog.RecordHash(leafBytes) }

// RowHash is the hex SHA-256 of a row's canonical content: content is
// marshalled as JSON (a struct's fields in declaration order, so each
// kind's content type fixes the bytes).
func RowHash(content any) (string, error) {
	b, err := json.Marshal(content)
	if err != nil {
		return "", fmt.Errorf("receiptlog: row content: %w", err)
	}
	return SHA256Hex(b), nil
}

// SHA256Hex is the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
