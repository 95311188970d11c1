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

// LogProblem is one thing verify --log found wrong.
type LogProblem struct {
	// What names the row, file, leaf or stored hash: "contract
	// default/C1", "file documents/ab….pdf", "leaf 17", "stored hash 40",
	// "head".
	What string
	// Leaf is the leaf concerned (-1: none).
	Leaf int64
	// Problem says what is wrong, e.g. "edited after leaf 17".
	Problem string
}

// String is the problem's one line: "What: Problem".
func (p LogProblem) String() string { return p.What + ": " + p.Problem }

// LogVerifyOptions says what VerifyLog checks.
type LogVerifyOptions struct {
	// DataDir is where archived files are (documents.path is relative to
	// it); "" leaves files unchecked.
	DataDir string
	// PageSize is how many rows one query reads (<= 0: 1000): memory stays
	// flat however long the log.
	PageSize int
}

// LogVerifySummary counts what VerifyLog read.
type LogVerifySummary struct {
	// Head is the stored head; Rebuilt the tree rebuilt from the leaves.
	Head, Rebuilt tlog.Tree
	Leaves        int64 // leaves read
	Hashes        int64 // stored hashes compared
	Rows          int64 // ledger rows recomputed
	Files         int64 // archived files hashed
	Pruned        int64 // rows deleted by retention or a purge, with their prune leaf
	Problems      int64
}

// LogVerifier checks the receipt log against the rows and files it
// describes (qyshook verify --log).
type LogVerifier interface {
	// VerifyLog rebuilds the tree from the stored leaves, compares it with
	// the stored hashes and the head, recomputes each row's leaf and each
	// archived file's hash, and calls report once per problem. It returns
	// an error only when it could not finish.
	VerifyLog(ctx context.Context, o LogVerifyOptions, report func(LogProblem)) (LogVerifySummary, error)
}

// LogEditFinder is implemented by ledgers whose commits compare each
// mutable row they are about to write (a contract, a certification, a
// document, a dead letter) with its last leaf: a row edited outside
// qyshook is recorded then, in a found-edited leaf before the row's new
// leaf (the write goes on), which verify --log reports for ever.
type LogEditFinder interface {
	// FoundEdited is how many found-edited leaves this ledger value's
	// commits appended.
	FoundEdited() int64
	// OnFoundEdited sets f to be called once for each such leaf, after
	// its commit, with the line verify --log gives it (nil: none).
	OnFoundEdited(f func(LogProblem))
}
