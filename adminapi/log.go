package adminapi

import (
	"context"
	"net/url"
)

// LogTree is a tree of the receipt log: its size (leaves) and root hash,
// base64 (standard alphabet) of the 32-byte RFC 6962 root, as
// golang.org/x/mod/sumdb/tlog writes hashes. GET /log answers the head.
type LogTree struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

// LogLeafProof is one leaf of the receipt log with its inclusion proof in
// the tree it is given with.
type LogLeafProof struct {
	Index  int64  `json:"index"`
	Kind   string `json:"kind"`
	Tenant string `json:"tenant"`
	Ref    string `json:"ref"`
	// Leaf is the leaf's canonical bytes (JSON text); its record hash is
	// SHA-256(0x00 || Leaf).
	Leaf string `json:"leaf"`
	// Proof is the inclusion proof (tlog.RecordProof), base64 hashes.
	Proof []string `json:"proof"`
}

// LogProofs is GET /log/proof: the leaves asked for (one by index, or all
// of a contract, event, fact or document, oldest first) proven in Tree.
type LogProofs struct {
	Tree   LogTree        `json:"tree"`
	Leaves []LogLeafProof `json:"leaves"`
}

// LogConsistency is GET /log/consistency: the proof that Old is a prefix
// of New (tlog.TreeProof, base64 hashes).
type LogConsistency struct {
	Old   LogTree  `json:"old"`
	New   LogTree  `json:"new"`
	Proof []string `json:"proof"`
}

// LogHead reads GET /log.
func (c *Client) LogHead(ctx context.Context) (*LogTree, error) {
	return get[LogTree](ctx, c, "/log", nil)
}

// LogProof reads GET /log/proof; query holds one of index, contract,
// event, fact or document, and tenant and tree_size (optional).
func (c *Client) LogProof(ctx context.Context, query url.Values) (*LogProofs, error) {
	return get[LogProofs](ctx, c, "/log/proof", query)
}

// LogConsistency reads GET /log/consistency; query holds from and to
// (to optional: the head).
func (c *Client) LogConsistency(ctx context.Context, query url.Values) (*LogConsistency, error) {
	return get[LogConsistency](ctx, c, "/log/consistency", query)
}
