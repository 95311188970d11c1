package replay

import (
	"context"
	"errors"
	"fmt"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// DeadLetterStore is the part of the ledger a dead-letter replay uses
// (store.Ledger has it).
type DeadLetterStore interface {
	// DeadLetters lists dead letters oldest first (limit <= 0: all).
	DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error)
	// DeleteDeadLetter removes one; store.ErrNotFound when already gone.
	DeleteDeadLetter(ctx context.Context, id int64) error
}

// RunDeadLetters replays the dead letters that sel selects (tenant,
// contract id, callback type and limit apply; time and sequence bounds
// must be zero) through apply, oldest first, and deletes every row whose
// event now applies. Rows that fail again or cannot be decoded stay. A
// nil apply is a dry run that deletes nothing.
func (r *Replayer) RunDeadLetters(ctx context.Context, dls DeadLetterStore, sel Selector, apply ApplyFunc, progress ProgressFunc) (Report, error) {
	if err := sel.Validate(); err != nil {
		return Report{}, fmt.Errorf("replay: %w", err)
	}
	if !sel.Since.IsZero() || !sel.Until.IsZero() || sel.FromSeq > 0 || sel.ToSeq > 0 {
		return Report{}, errors.New("replay: dead letters are selected by tenant, contract, type and limit only")
	}
	rows, err := dls.DeadLetters(ctx, 0)
	if err != nil {
		return Report{}, fmt.Errorf("replay: list dead letters: %w", err)
	}
	b := r.newBatcher(apply, progress)
	b.onApplied = func(ctx context.Context, it Item) error {
		err := dls.DeleteDeadLetter(ctx, it.DeadLetterID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("replay: delete dead letter %d: %w", it.DeadLetterID, err)
		}
		if err == nil {
			b.rep.Deleted++
		}
		return nil
	}
	for _, row := range rows {
		if sel.Limit > 0 && b.rep.Selected >= sel.Limit {
			break
		}
		b.rep.Scanned++
		env, err := events.Decode(row.Payload)
		if err != nil {
			b.rep.Undecodable++
			b.rep.addError(ItemError{Seq: row.StreamSeq, DeadLetterID: row.ID, EventID: row.EventID, Error: err.Error()})
			continue
		}
		if !sel.matches(env) {
			continue
		}
		b.rep.Selected++
		it := newItem(row.StreamSeq, row.CreatedAt, env)
		it.DeadLetterID = row.ID
		if err := b.add(ctx, it, len(rows)); err != nil {
			b.done()
			return b.rep, err
		}
	}
	err = b.flush(ctx, len(rows))
	b.done()
	return b.rep, err
}
