package store

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// LogLeaf is one leaf of the receipt log as stored: its index, the row it
// describes and its canonical bytes (package receiptlog parses them).
type LogLeaf struct {
	Index  int64
	Kind   string
	Tenant string
	Ref    string
	Leaf   []byte
}

// ReceiptLog is the receipt log the SQL ledgers keep beside the ledger
// (migration 0011): leaves appended in the transaction of the change they
// record. A Ledger value can be asserted to ReceiptLog.
type ReceiptLog interface {
	// LogHead is the committed tree: its size and root hash.
	LogHead(ctx context.Context) (tlog.Tree, error)
	// LogLeaf is leaf idx (ErrNotFound when the log is shorter).
	LogLeaf(ctx context.Context, idx int64) (LogLeaf, error)
	// LogLeaves lists the leaves of one row (kind, tenant, ref), oldest
	// first; tenant "" matches any; limit <= 0: all.
	LogLeaves(ctx context.Context, kind, tenant, ref string, limit int) ([]LogLeaf, error)
	// LogInclusion proves leaf idx in the tree of treeSize leaves (0: the
	// head) and returns that tree.
	LogInclusion(ctx context.Context, idx, treeSize int64) (tlog.Tree, tlog.RecordProof, error)
	// LogConsistency proves the tree of oldSize leaves a prefix of the
	// tree of newSize (0: the head) and returns both trees.
	LogConsistency(ctx context.Context, oldSize, newSize int64) (old, cur tlog.Tree, p tlog.TreeProof, err error)
}
