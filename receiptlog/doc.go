// Package receiptlog is qyshook's receipt log: an append-only,
// tamper-evident Merkle log (RFC 6962 hashing, through
// golang.org/x/mod/sumdb/tlog) with one leaf per thing the ledger received,
// confirmed, changed, published, archived or was told by an operator.
//
// The package defines the leaf format (Leaf, versioned canonical JSON), how
// a batch of leaves is appended to a tree whose right edge (the Frontier) is
// all an append needs to read, and inclusion and consistency proofs over a
// tlog.HashReader that the storage provides. It holds no storage itself:
// store/internal/sqlstore keeps leaves, stored hashes and the head in the
// ledger's tables (migration 0011), in the same transaction as the effect a
// leaf records.
package receiptlog
