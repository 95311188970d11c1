package sqlstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/qyshook/qyshook/receiptlog"
)

// rowSpec says which columns of a table a leaf of one kind covers: the
// evidence a row carries. Columns that only steer work (leases, attempts,
// archive state, published_at, fact_seq, fetch times) are left out: they
// change without the ledger changing. Columns in hashed are covered by
// their SHA-256 (payloads, answers).
type rowSpec struct {
	table   string
	cols    []string
	hashed  map[string]bool
	key     string // WHERE clause naming the row by (tenant, ref) or ref
	keyed   func(tenant, ref string) ([]any, error)
	mutable bool // the row can change: a leaf repeating the last one is not appended
	// body is the column whose SHA-256 the leaf carries as BodySHA256 ("" none).
	body string
	// tenantCol is the tenant column ("" : the leaf's tenant is ""),
	// refCol the row's key beside it; numeric: refCol is a number.
	tenantCol, refCol string
	numeric           bool
	// paired: the key is (tenant, ref), not ref alone.
	paired bool
}

func byTenantRef(tenant, ref string) ([]any, error) { return []any{tenant, ref}, nil }
func byRef(_, ref string) ([]any, error)            { return []any{ref}, nil }
func byNumber(_, ref string) ([]any, error) {
	n, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("ref %q is not a row number", ref)
	}
	return []any{n}, nil
}

var rowSpecs = map[string]rowSpec{
	receiptlog.KindEvent: {table: "events", key: "id = ?", tenantCol: "tenant", refCol: "id", keyed: byRef, body: "payload",
		cols:   []string{"id", "tenant", "kind", "type", "contract_id", "source", "received_at", "applied_at", "payload"},
		hashed: map[string]bool{"payload": true}},
	receiptlog.KindContract: {table: "contracts", key: "tenant = ? AND id = ?", tenantCol: "tenant", refCol: "id", paired: true, keyed: byTenantRef, mutable: true, body: "detail",
		cols:   []string{"tenant", "id", "biz_id", "subject", "status", "confirmed", "signed_count", "updated_at", "completed_at", "detail"},
		hashed: map[string]bool{"detail": true}},
	receiptlog.KindCertification: {table: "certifications", key: "tenant = ? AND request_id = ?", tenantCol: "tenant", refCol: "request_id", paired: true, keyed: byTenantRef, mutable: true, body: "detail",
		cols: []string{"tenant", "request_id", "kind", "status", "state", "success", "mode", "name", "fail_reason",
			"confirmed", "reason", "detail", "answer", "updated_at"},
		hashed: map[string]bool{"detail": true, "answer": true}},
	receiptlog.KindDocument: {table: "documents", key: "tenant = ? AND id = ?", tenantCol: "tenant", refCol: "id", paired: true, keyed: byTenantRef, mutable: true,
		cols: []string{"tenant", "id", "contract_id", "title", "sha256", "size", "path", "validation_sha256", "discrepancies"}},
	receiptlog.KindFact: {table: "outbox", key: "id = ?", tenantCol: "tenant", refCol: "id", keyed: byRef, body: "payload",
		cols:   []string{"id", "subject", "tenant", "contract_id", "seq", "created_at", "payload"},
		hashed: map[string]bool{"payload": true}},
	receiptlog.KindAudit: {table: "audit", key: "id = ?", refCol: "id", numeric: true, keyed: byNumber,
		cols: []string{"id", "at", "who", "action", "selector", "count", "outcome", "job_id"}},
	receiptlog.KindDeadLetter: {table: "dead_letters", key: "id = ?", tenantCol: "tenant", refCol: "id", numeric: true, keyed: byNumber, mutable: true, body: "payload",
		cols: []string{"id", "event_id", "tenant", "consumer", "subject", "stream_seq", "reason", "deliveries",
			"payload", "created_at"},
		hashed: map[string]bool{"payload": true}},
	receiptlog.KindBundle: {table: "evidence_bundles", key: "tenant = ? AND ref = ?", tenantCol: "tenant", refCol: "ref", paired: true, keyed: byTenantRef,
		cols: []string{"tenant", "contract_id", "version", "state", "contract_leaf", "checkpoint_size", "sha256", "size", "path",
			"items", "discrepancies", "built_at"}},
}

// logKinds lists the kinds whose rows verify --log checks, in that order.
var logKinds = []string{receiptlog.KindEvent, receiptlog.KindContract, receiptlog.KindCertification,
	receiptlog.KindDocument, receiptlog.KindFact, receiptlog.KindAudit, receiptlog.KindDeadLetter, receiptlog.KindBundle}

// rowContent is what a row leaf's SHA256 covers.
type rowContent struct {
	Row         []any   `json:"row"`
	Signatories [][]any `json:"signatories,omitempty"`
}

// normValue makes a scanned value the same whatever the driver gave.
func normValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(textTime)
	case int32:
		return int64(x)
	default:
		return x
	}
}

func valueBytes(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return x
	case string:
		return []byte(x)
	default:
		return []byte(fmt.Sprint(x))
	}
}

// leafFromRow builds the leaf of a row from its values (in spec.cols
// order) and, for a contract, its signatories: the one place a leaf's
// content is decided, at commit and in verify --log alike.
func leafFromRow(kind, tenant, ref string, spec rowSpec, vals []any, sigs [][]any) (receiptlog.Leaf, error) {
	l, _, err := leafAndContent(kind, tenant, ref, spec, vals, sigs)
	return l, err
}

// leafAndContent is leafFromRow that also returns the content bytes the
// leaf's SHA256 hashes (RowEvidence puts them in a bundle).
func leafAndContent(kind, tenant, ref string, spec rowSpec, vals []any, sigs [][]any) (receiptlog.Leaf, []byte, error) {
	l := receiptlog.Leaf{V: receiptlog.Version, Kind: kind, Tenant: tenant, Ref: ref}
	c := rowContent{Row: make([]any, len(vals)), Signatories: sigs}
	byName := make(map[string]any, len(vals))
	for i, v := range vals {
		name := spec.cols[i]
		byName[name] = v
		if spec.hashed[name] && v != nil {
			c.Row[i] = receiptlog.SHA256Hex(valueBytes(v))
			continue
		}
		c.Row[i] = normValue(v)
	}
	if spec.body != "" && byName[spec.body] != nil {
		l.BodySHA256 = receiptlog.SHA256Hex(valueBytes(byName[spec.body]))
	}
	switch kind {
	case receiptlog.KindEvent:
		l.Type, _ = normValue(byName["type"]).(string)
		l.Source, _ = normValue(byName["source"]).(string)
		l.At, _ = normValue(byName["received_at"]).(string)
		if l.Source == "callback" {
			l.Verdict = "verified"
		}
	case receiptlog.KindContract, receiptlog.KindCertification:
		if !truthy(byName["confirmed"]) {
			l.BodySHA256 = "" // the detail is the callback's, not an API answer
		}
	case receiptlog.KindDocument:
		l.BodySHA256, _ = normValue(byName["sha256"]).(string)
		if len(l.BodySHA256) != 64 {
			l.BodySHA256 = ""
		}
		l.Size, _ = normValue(byName["size"]).(int64)
	case receiptlog.KindFact:
		l.Type, _ = normValue(byName["subject"]).(string)
	case receiptlog.KindBundle:
		l.BodySHA256, _ = normValue(byName["sha256"]).(string)
		if len(l.BodySHA256) != 64 {
			l.BodySHA256 = ""
		}
		l.Size, _ = normValue(byName["size"]).(int64)
		l.At, _ = normValue(byName["built_at"]).(string)
	}
	// What receiptlog.RowHash hashes, kept for the evidence bundle.
	b, err := json.Marshal(c)
	if err != nil {
		return l, nil, fmt.Errorf("receiptlog: row content: %w", err)
	}
	l.SHA256 = receiptlog.SHA256Hex(b)
	return l, b, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	return false
}
