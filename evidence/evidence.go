package evidence

import (
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
)

// Format names the bundle format; it is the first line of the text
// manifest.sig signs and the "format" of manifest.json.
const Format = "qyshook.evidence.v1"

// Item kinds: what an item's bytes are.
const (
	// KindRow: the canonical content a receipt-log leaf's sha256 covers,
	// the JSON {"row":[...],"signatories":[...]} the ledger hashes (hashed
	// columns appear as their hex SHA-256). Item.Columns names "row".
	KindRow = "row"
	// KindCallback: a callback's payload bytes as applied.
	KindCallback = "callback"
	// KindAPIAnswer: a verbatim open-API answer (e.g. the
	// /v2/contract/detail answer that confirmed a state).
	KindAPIAnswer = "api-answer"
	// KindFact: a fact's payload.
	KindFact = "fact"
	// KindDocument: a signed PDF.
	KindDocument = "document"
	// KindValidation: a PDF's verification material (pdfverify's JSON,
	// schema qyshook.validation.v1).
	KindValidation = "validation"
	// KindOplog: the platform's operation log of the contract.
	KindOplog = "oplog"
	// KindAttachment: the platform's attachments zip.
	KindAttachment = "attachment"
	// KindNotary: the platform's 存证报告.
	KindNotary = "notary"
	// KindEndsign: the forced-end attachments zip.
	KindEndsign = "endsign-attachment"
	// KindSignlog: the signing log (SIGNLOG).
	KindSignlog = "signlog"
	// KindRefusal: an archived refusal JSON (an item the platform would
	// not serve).
	KindRefusal = "refusal"
	// KindOther: anything else.
	KindOther = "other"
)

// Kinds of the files Write adds beside the items (manifest.json lists them
// with these kinds).
const (
	KindLeaves      = "log-leaves"      // log/leaves.json
	KindCheckpoint  = "log-checkpoint"  // log/checkpoint.txt
	KindStamp       = "log-stamp"       // log/stamps/<i>.tsr
	KindStampCerts  = "log-stamp-certs" // log/stamps/<i>.pem
	KindVerifierKey = "log-verifier-key"
	KindReport      = "report" // report.html
)

// Binding fields of a leaf binding (Item.Field).
const (
	FieldSHA256     = "sha256"      // the leaf's row hash: Data is the row content
	FieldBodySHA256 = "body_sha256" // the leaf's body hash: a payload, an answer, an archived file
)

// Fixed paths of a bundle.
const (
	PathManifest    = "manifest.json"
	PathManifestSig = "manifest.sig"
	PathReport      = "report.html"
	PathLeaves      = "log/leaves.json"
	PathCheckpoint  = "log/checkpoint.txt"
	PathVerifierKey = "log/verifier.key"
	pathStamps      = "log/stamps/"
)

// Item is one file of the contract's evidence.
type Item struct {
	// Path is the item's slash path inside the zip, e.g.
	// "callbacks/E1.json": unique, relative, no "." or ".." element, not
	// under log/ and none of manifest.json, manifest.sig, report.html.
	Path string
	// Kind is one of the Kind constants.
	Kind string
	// Data is the item's bytes.
	Data []byte

	// A binding ties Data to the receipt log, in at most one of two ways.
	//
	// (a) Leaf is the log index (Leaf.Index) of one of Contents.Leaves;
	// Field says which hash of that leaf equals SHA-256(Data):
	// FieldSHA256 (Data is the row content) or FieldBodySHA256 (a payload,
	// a detail answer, an archived file).
	Leaf  *int64
	Field string
	// (b) Row is the path of a KindRow item and Column one of its Columns:
	// SHA-256(Data), in hex, is the value of that column in the row (for
	// example a validation JSON's hash is the document row's
	// "validation_sha256").
	Row, Column string

	// Columns are, for a KindRow item, the column names of "row" in order
	// (Row/Column bindings and the report read them).
	Columns []string
	// Note says in one line what the item is (English); NoteZH in Chinese
	// (optional). Notes are not masked in a viewer's report: keep personal
	// data out of them.
	Note   string
	NoteZH string

	// sum is SHA-256(Data) in hex when Verify checked the file without
	// keeping its bytes (Data is then nil).
	sum string
}

// Leaf is a receipt-log leaf the bundle carries, with its inclusion proof
// in the checkpoint's tree.
type Leaf struct {
	// Index is the leaf's position in the log.
	Index int64
	// Bytes are the leaf's canonical bytes (receiptlog.Parse accepts them).
	Bytes []byte
	// Proof is the inclusion of the leaf in the checkpoint's tree.
	Proof tlog.RecordProof
}

// Contents is everything a bundle holds.
type Contents struct {
	Tenant, ContractID string
	// Version is 1, 2, …: a later state (a void after completion) makes a
	// new version; the old ones are kept.
	Version int
	// State is the contract's status when the bundle was built, e.g. COMPLETE.
	State   string
	BuiltAt time.Time
	Items   []Item
	// Leaves are every leaf the items bind to, plus history leaves (e.g.
	// every leaf of the contract row).
	Leaves []Leaf
	// Checkpoint is the signed checkpoint note (exact bytes) whose tree
	// the proofs are in.
	Checkpoint []byte
	// Stamps are RFC 3161 tokens over the checkpoint note; empty means the
	// checkpoint is not anchored (the report says so).
	Stamps []checkpoint.StoredStamp
	// VerifierKey is the note verifier key of the log
	// ("<origin>+<hash>+<key>"), carried for convenience: a verifier pins
	// its own copy.
	VerifierKey string
	// Summary is what the human report shows.
	Summary Summary
}

// Summary is what the report shows of the contract. It is carried in
// manifest.json too, so it is covered by manifest.sig.
type Summary struct {
	Subject string `json:"subject,omitempty"`
	BizID   string `json:"biz_id,omitempty"`
	// Sponsor is the initiating tenant (发起方), when known.
	Sponsor       string        `json:"sponsor,omitempty"`
	Parties       []Party       `json:"parties,omitempty"`
	States        []StateChange `json:"states,omitempty"`
	PDFs          []PDFVerdict  `json:"pdfs,omitempty"`
	Discrepancies []Discrepancy `json:"discrepancies,omitempty"`
	// Notes are free lines, e.g. "存证报告 refused by the platform: code
	// 1100102". Masked in a viewer's report (RenderReport).
	Notes []string `json:"notes,omitempty"`
}

// Party is one signatory.
type Party struct {
	Name string `json:"name"`
	// Type is PERSONAL or COMPANY.
	Type     string    `json:"type,omitempty"`
	Status   string    `json:"status,omitempty"`
	SignedAt time.Time `json:"signed_at,omitzero"`
}

// StateChange is one state of the contract as the ledger recorded it.
type StateChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at,omitzero"`
	// Source is callback, api or reconcile.
	Source  string `json:"source,omitempty"`
	EventID string `json:"event_id,omitempty"`
}

// PDFVerdict is a signed PDF's verification when archived.
type PDFVerdict struct {
	DocumentID string `json:"document_id"`
	Title      string `json:"title,omitempty"`
	// Path is the document item's path in the bundle ("" when not in it).
	Path string `json:"path,omitempty"`
	// Verdict is pdfverify's: valid, invalid, no-signatures.
	Verdict string      `json:"verdict"`
	Signers []PDFSigner `json:"signers,omitempty"`
	// ValidationStatus is the worst revocation status of the verification
	// material (good, revoked, unreachable, …), "" when none was kept.
	ValidationStatus string `json:"validation_status,omitempty"`
	Problem          string `json:"problem,omitempty"`
}

// PDFSigner is one signature of a PDF.
type PDFSigner struct {
	Name string `json:"name"`
	// SigningTime is the signer's claim (/M), not a trusted time.
	SigningTime time.Time `json:"signing_time,omitzero"`
	Trusted     bool      `json:"trusted"`
}

// Discrepancy is a disagreement between sources (package crosscheck's).
type Discrepancy struct {
	Kind     string `json:"kind"`
	Document string `json:"document,omitempty"`
	Party    string `json:"party,omitempty"`
	Event    string `json:"event,omitempty"`
	Detail   string `json:"detail"`
}
