package store

import (
	"context"
	"time"
)

// Retention is what the SQL ledgers offer to keep the history tables from
// growing without bound: each call deletes at most limit rows, oldest
// first, in one short transaction, so a caller trims a big backlog a batch
// at a time beside the dispatcher's commits. A Ledger value can be
// asserted to Retention.
type Retention interface {
	// PruneEvents deletes up to limit events applied before appliedBefore
	// and returns how many. It never deletes the newest event of a
	// contract (its last word in the timeline, whatever its age; for
	// certification events, the tenant's newest) nor an event a dead
	// letter names.
	PruneEvents(ctx context.Context, appliedBefore time.Time, limit int) (int64, error)
	// PrunePublished deletes up to limit outbox facts published before
	// publishedBefore and returns how many. An unpublished fact is never
	// deleted.
	PrunePublished(ctx context.Context, publishedBefore time.Time, limit int) (int64, error)
}
