package replay

import (
	"context"
	"errors"
	"fmt"

	"github.com/qyshook/qyshook/deadletter"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// RetryDeadLetters republishes the dead letters in rows that sel selects
// (tenant, contract id, callback type and limit apply; time and sequence
// bounds must be zero), oldest first, each marked with its row id
// (events.HeaderDeadLetterID) and, when found, its QYS_DLQ message. It
// deletes nothing: the running dispatcher resolves a dead letter (its row
// and its QYS_DLQ message) once the republished event applies, and
// dead-letters it again if it fails again. Rows that cannot be decoded
// stay, listed as undecodable. It is the one dead-letter retry path
// (qyshook dlq retry, qyshook replay --from-dlq).
func (r *Replayer) RetryDeadLetters(ctx context.Context, rows []store.DeadLetter, sel Selector, dryRun bool, progress ProgressFunc) (Report, error) {
	if err := sel.Validate(); err != nil {
		return Report{}, fmt.Errorf("replay: %w", err)
	}
	if !sel.Since.IsZero() || !sel.Until.IsZero() || sel.FromSeq > 0 || sel.ToSeq > 0 {
		return Report{}, errors.New("replay: dead letters are selected by tenant, contract, type and limit only")
	}
	var dlq map[deadletter.Key]uint64
	if !dryRun {
		if r.cfg.JS == nil {
			return Report{}, errors.New("replay: no JetStream")
		}
		var err error
		if dlq, err = deadletter.Messages(ctx, r.cfg.JS, r.cfg.Names); err != nil {
			return Report{}, fmt.Errorf("replay: %w", err)
		}
	}
	b := r.newBatcher(dryRun, true, progress)
	for _, row := range rows {
		if sel.Limit > 0 && b.rep.Selected >= sel.Limit {
			break
		}
		b.rep.Scanned++
		env, err := events.Decode(row.Payload)
		if err != nil {
			if err := b.flush(ctx, len(rows)); err != nil { // keeps Items in row order
				b.done()
				return b.rep, err
			}
			b.rep.Undecodable++
			b.rep.addError(ItemError{Seq: row.StreamSeq, DeadLetterID: row.ID, EventID: row.EventID, Error: err.Error()})
			b.rep.Items = append(b.rep.Items, Item{Seq: row.StreamSeq, Time: row.CreatedAt.UTC(), DeadLetterID: row.ID,
				Tenant: row.Tenant, EventID: row.EventID, Result: ResultUndecodable, Error: "stays dead: " + err.Error()})
			continue
		}
		if !sel.matches(env) {
			continue
		}
		b.rep.Selected++
		it := newItem(row.StreamSeq, row.CreatedAt, env)
		it.DeadLetterID, it.subject = row.ID, row.Subject
		it.dlqSeq = dlq[deadletter.Key{Subject: r.cfg.Names.DLQSubject(row.Consumer), StreamSeq: row.StreamSeq}]
		if err := b.add(ctx, it, len(rows)); err != nil {
			b.done()
			return b.rep, err
		}
	}
	err := b.flush(ctx, len(rows))
	b.done()
	return b.rep, err
}
