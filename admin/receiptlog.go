package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// maxLogProofs bounds the leaves one GET /log/proof proves (a contract
// with a long history: ask by index for the older ones).
const maxLogProofs = 200

// receiptLog is the ledger's receipt log, or an unavailable error.
func (a *API) receiptLog() (store.ReceiptLog, error) {
	rl, ok := a.o.Ledger.(store.ReceiptLog)
	if !ok {
		return nil, errorf(adminapi.CodeUnavailable, "this ledger keeps no receipt log")
	}
	return rl, nil
}

func viewTree(t tlog.Tree) adminapi.LogTree {
	return adminapi.LogTree{Size: t.N, Root: t.Hash.String()}
}

func viewHashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

// logHead: GET /log.
func (a *API) logHead(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	rl, err := a.receiptLog()
	if err != nil {
		return err
	}
	head, err := rl.LogHead(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewTree(head))
	return nil
}

// logSelectors are GET /log/proof's ways to name leaves, with the kind
// of leaf each names.
var logSelectors = []struct{ param, kind string }{
	{"contract", receiptlog.KindContract},
	{"event", receiptlog.KindEvent},
	{"fact", receiptlog.KindFact},
	{"document", receiptlog.KindDocument},
}

// logProof: GET /log/proof?index=N | contract= | event= | fact= |
// document= [&tenant=][&tree_size=].
func (a *API) logProof(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "index", "contract", "event", "fact", "document", "tenant", "tree_size")
	if err != nil {
		return err
	}
	rl, err := a.receiptLog()
	if err != nil {
		return err
	}
	size, err := int64Param(q, "tree_size", 0)
	if err != nil {
		return err
	}
	leaves, err := a.selectLeaves(r, rl, q)
	if err != nil {
		return err
	}
	out := adminapi.LogProofs{Leaves: []adminapi.LogLeafProof{}}
	for _, l := range leaves {
		tree, p, err := rl.LogInclusion(r.Context(), l.Index, size)
		if err != nil {
			return badRequest("tree_size", "%v", err)
		}
		out.Tree = viewTree(tree)
		out.Leaves = append(out.Leaves, adminapi.LogLeafProof{Index: l.Index, Kind: l.Kind, Tenant: l.Tenant, Ref: l.Ref,
			Leaf: string(l.Leaf), Proof: viewHashes(p)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// selectLeaves reads the leaves q names: exactly one selector.
func (a *API) selectLeaves(r *http.Request, rl store.ReceiptLog, q query) ([]store.LogLeaf, error) {
	var named []string
	for _, s := range append([]string{"index"}, "contract", "event", "fact", "document") {
		if q.str(s) != "" {
			named = append(named, s)
		}
	}
	if len(named) != 1 {
		return nil, badRequest("index", "name exactly one of index, contract, event, fact or document")
	}
	if named[0] == "index" {
		idx, err := int64Param(q, "index", -1)
		if err != nil {
			return nil, err
		}
		l, err := rl.LogLeaf(r.Context(), idx)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf(adminapi.CodeNotFound, "the log has no leaf %d", idx)
		}
		if err != nil {
			return nil, err
		}
		return []store.LogLeaf{l}, nil
	}
	for _, s := range logSelectors {
		if s.param != named[0] {
			continue
		}
		ls, err := rl.LogLeaves(r.Context(), s.kind, q.str("tenant"), q.str(s.param), maxLogProofs)
		if err != nil {
			return nil, err
		}
		if len(ls) == 0 {
			return nil, errorf(adminapi.CodeNotFound, "no leaf for %s %s", s.param, q.str(s.param))
		}
		return ls, nil
	}
	return nil, badRequest(named[0], "unknown selector")
}

// logConsistency: GET /log/consistency?from=N[&to=M].
func (a *API) logConsistency(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "from", "to")
	if err != nil {
		return err
	}
	rl, err := a.receiptLog()
	if err != nil {
		return err
	}
	if _, err := q.required("from"); err != nil {
		return err
	}
	from, err := int64Param(q, "from", 1)
	if err != nil {
		return err
	}
	to, err := int64Param(q, "to", 0)
	if err != nil {
		return err
	}
	if to != 0 && to < from {
		return badRequest("to", "must not be smaller than from")
	}
	old, cur, p, err := rl.LogConsistency(r.Context(), from, to)
	if err != nil {
		return badRequest("from", "%v", err)
	}
	writeJSON(w, http.StatusOK, adminapi.LogConsistency{Old: viewTree(old), New: viewTree(cur), Proof: viewHashes(p)})
	return nil
}

// int64Param reads a whole number parameter of at least min (0 when
// absent).
func int64Param(q query, name string, min int64) (int64, error) {
	s := q.str(name)
	if s == "" {
		if min < 0 {
			return 0, badRequest(name, "required")
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < max(min, 0) {
		return 0, badRequest(name, "%q is not a whole number of at least %d", s, max(min, 0))
	}
	return n, nil
}

// logIndexes lists the receipt log's leaves of one row, oldest first
// (nil when the ledger keeps no log or the row has no leaf).
func (a *API) logIndexes(ctx context.Context, kind, tenant, ref string) ([]int64, error) {
	rl, ok := a.o.Ledger.(store.ReceiptLog)
	if !ok {
		return nil, nil
	}
	ls, err := rl.LogLeaves(ctx, kind, tenant, ref, 0)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, l := range ls {
		out = append(out, l.Index)
	}
	return out, nil
}

// lastLogIndex is the last of logIndexes (nil: none).
func (a *API) lastLogIndex(ctx context.Context, kind, tenant, ref string) (*int64, error) {
	idx, err := a.logIndexes(ctx, kind, tenant, ref)
	if err != nil || len(idx) == 0 {
		return nil, err
	}
	return &idx[len(idx)-1], nil
}
