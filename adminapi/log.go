package adminapi

import (
	"context"
	"net/url"
	"time"
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

// Checkpoint is a signed checkpoint of the receipt log with its RFC 3161
// time-stamps (GET /log/checkpoints, GET /log/status).
type Checkpoint struct {
	// Size is the tree size (leaves) it commits to; Root the root hash, hex.
	Size int64  `json:"size"`
	Root string `json:"root"`
	// Origin names the log; KeyID is the signing key's note key hash.
	Origin string `json:"origin"`
	KeyID  string `json:"key_id"`
	// Note is the signed checkpoint (a golang.org/x/mod/sumdb/note), as
	// signed: verify it with the log's verifier key.
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
	// AgeSeconds is how long ago it was signed, when answered.
	AgeSeconds float64 `json:"age_seconds"`
	// Anchored: at least one authority time-stamped it.
	Anchored bool              `json:"anchored"`
	Stamps   []CheckpointStamp `json:"stamps"`
}

// CheckpointStamp is one authority's time-stamp over a checkpoint's note.
type CheckpointStamp struct {
	// TSAURL is the authority (without credentials).
	TSAURL string `json:"tsa_url"`
	// GenTime is the authority's time in the token.
	GenTime time.Time `json:"gen_time"`
	Serial  string    `json:"serial"`
	// StampedAt is when qyshook stored it.
	StampedAt time.Time `json:"stamped_at"`
	// Token is the TimeStampToken (CMS SignedData, DER), base64;
	// Certs the certificates it came with (PEM).
	Token string `json:"token"`
	Certs string `json:"certs"`
}

// LogStatus is GET /log/status: the newest checkpoint, the newest
// anchored one, and the checkpoints still waiting for a time-stamp.
type LogStatus struct {
	Latest         *Checkpoint `json:"latest"`
	LatestAnchored *Checkpoint `json:"latest_anchored"`
	Unanchored     int64       `json:"unanchored"`
	// OldestUnanchoredAt is when the oldest unanchored checkpoint was
	// signed (null when every checkpoint is anchored).
	OldestUnanchoredAt *time.Time `json:"oldest_unanchored_at"`
}

// CheckpointRequested is POST /log/checkpoints: the newest checkpoint
// (null while the log is empty) and whether the request signed it (the
// tree had grown since the last one).
type CheckpointRequested struct {
	Checkpoint *Checkpoint `json:"checkpoint"`
	Created    bool        `json:"created"`
}

// Checkpoints reads one page of GET /log/checkpoints (limit, cursor),
// newest first.
func (c *Client) Checkpoints(ctx context.Context, query url.Values) (*Page[Checkpoint], error) {
	return get[Page[Checkpoint]](ctx, c, "/log/checkpoints", query)
}

// LogStatus reads GET /log/status.
func (c *Client) LogStatus(ctx context.Context) (*LogStatus, error) {
	return get[LogStatus](ctx, c, "/log/status", nil)
}

// RequestCheckpoint sends POST /log/checkpoints: sign a checkpoint now
// (when the log grew) and have it time-stamped.
func (c *Client) RequestCheckpoint(ctx context.Context) (*CheckpointRequested, error) {
	return post[CheckpointRequested](ctx, c, "/log/checkpoints", nil)
}
