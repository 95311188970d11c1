package store

import (
	"context"
	"time"
)

// LogCheckpoint is a signed checkpoint of the receipt log with the RFC
// 3161 stamps over it (tables log_checkpoints and log_stamps).
type LogCheckpoint struct {
	// Size is the tree size it commits to; one checkpoint per size.
	Size int64
	// Root is the tree's root hash, hex.
	Root string
	// Note is the signed checkpoint (a sumdb note), byte for byte as signed.
	Note   []byte
	Origin string
	// KeyID is the signing key's note key hash (8 hex digits).
	KeyID     string
	CreatedAt time.Time
	// Stamps are the time-stamps over Note, oldest first (filled by the
	// read methods).
	Stamps []LogStamp
}

// Anchored reports whether c has at least one time-stamp.
func (c LogCheckpoint) Anchored() bool { return len(c.Stamps) > 0 }

// LogStamp is one authority's RFC 3161 token over a checkpoint's note.
type LogStamp struct {
	Size   int64
	TSAURL string
	// Token is the TimeStampToken (CMS SignedData, DER).
	Token []byte
	// Certs are the certificates the token came with, PEM, signer first.
	Certs string
	// GenTime is the authority's time in the token.
	GenTime time.Time
	// Serial is the token's serial number (decimal).
	Serial    string
	StampedAt time.Time
}

// CheckpointFilter selects checkpoints, newest (largest) first.
type CheckpointFilter struct {
	// BeforeSize lists checkpoints of a smaller size (keyset pages); 0:
	// from the newest.
	BeforeSize int64
	// Limit <= 0: no limit.
	Limit int
}

// CheckpointStats summarises the checkpoints for metrics and the overview.
type CheckpointStats struct {
	// Latest is the newest checkpoint (nil when none), with its stamps.
	Latest *LogCheckpoint
	// LatestAnchored is the newest checkpoint with a stamp (nil when none).
	LatestAnchored *LogCheckpoint
	// Unanchored counts checkpoints without a stamp; OldestUnanchored is
	// when the oldest of them was signed (nil when none).
	Unanchored       int64
	OldestUnanchored *time.Time
}

// CheckpointLog keeps the receipt log's checkpoints and their stamps. The
// SQL ledgers implement it beside Ledger (a Ledger value can be asserted
// to CheckpointLog).
type CheckpointLog interface {
	// AddCheckpoint stores c (CreatedAt defaults to now; Stamps are
	// ignored) and facts in the outbox, in one transaction. A checkpoint
	// of that size already stored makes it return ErrDuplicate, and
	// nothing is written.
	AddCheckpoint(ctx context.Context, c LogCheckpoint, facts []Fact) error
	// AddStamp stores a stamp of a stored checkpoint (StampedAt defaults
	// to now). A stamp of the same checkpoint and authority already
	// stored is kept, and AddStamp returns ErrDuplicate; an unknown
	// checkpoint returns ErrNotFound.
	AddStamp(ctx context.Context, s LogStamp) error
	// Checkpoints lists checkpoints with their stamps, newest first.
	Checkpoints(ctx context.Context, f CheckpointFilter) ([]LogCheckpoint, error)
	// Checkpoint returns the checkpoint of size with its stamps, or
	// ErrNotFound.
	Checkpoint(ctx context.Context, size int64) (*LogCheckpoint, error)
	// UnanchoredCheckpoints lists up to limit checkpoints without a
	// stamp, oldest first.
	UnanchoredCheckpoints(ctx context.Context, limit int) ([]LogCheckpoint, error)
	// CheckpointStats summarises them.
	CheckpointStats(ctx context.Context) (CheckpointStats, error)
}
