package replay

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/qyshook/qyshook/events"
)

// ApplyFunc applies envelopes and returns one error per envelope, nil when
// applied or already applied: (*dispatcher.Dispatcher).Apply.
type ApplyFunc func(ctx context.Context, envs []*events.Envelope) []error

// ProgressFunc is told how far a replay got: done of about total
// messages. total is an estimate that can shrink; the last call has
// done == total.
type ProgressFunc func(done, total int)

// Defaults.
const (
	// DefaultBatch is how many events one apply call takes.
	DefaultBatch = 64
	// MaxErrors is how many failures a Report lists.
	MaxErrors = 20
)

// Config configures a Replayer.
type Config struct {
	// JS and Names locate QYS_CALLBACKS (not needed for dead letters).
	JS    jetstream.JetStream
	Names events.Names
	// Rate caps the events applied (or published) per second; 0 or less
	// means no cap.
	Rate float64
	// Batch is how many events one apply call takes (default DefaultBatch,
	// and never more than Rate, so a slow rate still moves steadily).
	Batch int
}

// Replayer re-drives events from the stream or the dead-letter table.
type Replayer struct {
	cfg Config
	// wait blocks until n more events may go; nil without a rate.
	wait func(ctx context.Context, n int) error
}

// New returns a Replayer. It fails on a NaN or infinite rate.
func New(cfg Config) (*Replayer, error) {
	if math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, errors.New("replay: rate must be a finite number")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	r := &Replayer{cfg: cfg}
	if cfg.Rate > 0 {
		r.cfg.Batch = max(1, min(cfg.Batch, int(cfg.Rate)))
		lim := rate.NewLimiter(rate.Limit(cfg.Rate), r.cfg.Batch)
		r.wait = lim.WaitN
	}
	return r, nil
}

// ItemError is one event that failed (or could not be decoded).
type ItemError struct {
	Seq          uint64 `json:"seq,omitempty"`
	DeadLetterID int64  `json:"dead_letter_id,omitempty"`
	EventID      string `json:"event_id,omitempty"`
	ContractID   string `json:"contract_id,omitempty"`
	Error        string `json:"error"`
}

// Report is the outcome of a replay.
type Report struct {
	DryRun bool `json:"dry_run"`
	// Scanned is how many messages (or dead letters) were read.
	Scanned int `json:"scanned"`
	// Selected is how many events matched the selector.
	Selected int `json:"selected"`
	// Applied is how many selected events were applied or found already
	// applied (the ledger is idempotent on event ids, and Apply does not
	// tell the two apart).
	Applied int `json:"applied"`
	// Failed is how many selected events Apply refused.
	Failed int `json:"failed"`
	// Undecodable is how many messages were not valid envelopes.
	Undecodable int `json:"undecodable"`
	// Deleted is how many dead letters were removed after applying.
	Deleted int `json:"deleted,omitempty"`
	// Errors lists the first MaxErrors failures and undecodable messages.
	Errors []ItemError `json:"errors,omitempty"`
	// Items lists the selected events (dry runs only).
	Items []Item `json:"items,omitempty"`
}

func (rep *Report) addError(e ItemError) {
	if len(rep.Errors) < MaxErrors {
		rep.Errors = append(rep.Errors, e)
	}
}

// Run replays the events of QYS_CALLBACKS that sel selects through apply,
// in stream order and in batches, at most Config.Rate per second. A nil
// apply is a dry run: Report.Items lists what would be replayed. progress
// may be nil. Run stops early only when ctx ends or the stream cannot be
// read; failed and undecodable events are counted in the Report.
func (r *Replayer) Run(ctx context.Context, sel Selector, apply ApplyFunc, progress ProgressFunc) (Report, error) {
	if err := sel.Validate(); err != nil {
		return Report{}, fmt.Errorf("replay: %w", err)
	}
	if r.cfg.JS == nil {
		return Report{}, errors.New("replay: no JetStream")
	}
	b := r.newBatcher(apply, progress)
	var total int
	err := r.scan(ctx, sel, func(m scanned) (bool, error) {
		b.rep.Scanned++
		total = b.rep.Scanned + int(m.remaining)
		env, err := events.Decode(m.data)
		if err != nil {
			b.rep.Undecodable++
			b.rep.addError(ItemError{Seq: m.seq, Error: err.Error()})
			return false, nil
		}
		if !sel.matches(env) {
			return false, nil
		}
		b.rep.Selected++
		if err := b.add(ctx, newItem(m.seq, m.at, env), total); err != nil {
			return true, err
		}
		return sel.Limit > 0 && b.rep.Selected >= sel.Limit, nil
	})
	if err == nil {
		err = b.flush(ctx, b.rep.Scanned)
	}
	b.done()
	return b.rep, err
}

// batcher groups selected items into apply calls.
type batcher struct {
	r        *Replayer
	apply    ApplyFunc
	progress ProgressFunc
	pending  []Item
	rep      Report
	// onApplied is told which items applied (dead letters delete them).
	onApplied func(ctx context.Context, it Item) error
}

func (r *Replayer) newBatcher(apply ApplyFunc, progress ProgressFunc) *batcher {
	return &batcher{r: r, apply: apply, progress: progress, rep: Report{DryRun: apply == nil}}
}

func (b *batcher) add(ctx context.Context, it Item, total int) error {
	if b.apply == nil {
		b.rep.Items = append(b.rep.Items, it)
		b.report(b.rep.Scanned, total)
		return nil
	}
	b.pending = append(b.pending, it)
	if len(b.pending) < b.r.cfg.Batch {
		return nil
	}
	return b.flush(ctx, total)
}

// flush applies the pending items.
func (b *batcher) flush(ctx context.Context, total int) error {
	if len(b.pending) == 0 {
		return nil
	}
	items := b.pending
	b.pending = nil
	if b.r.wait != nil {
		if err := b.r.wait(ctx, len(items)); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	envs := make([]*events.Envelope, len(items))
	for i, it := range items {
		envs[i] = it.Envelope
	}
	errs := b.apply(ctx, envs)
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, it := range items {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		if err != nil {
			b.rep.Failed++
			b.rep.addError(ItemError{Seq: it.Seq, DeadLetterID: it.DeadLetterID, EventID: it.EventID,
				ContractID: it.ContractID, Error: err.Error()})
			continue
		}
		b.rep.Applied++
		if b.onApplied != nil {
			if err := b.onApplied(ctx, it); err != nil {
				return err
			}
		}
	}
	b.report(b.rep.Scanned, total)
	return nil
}

func (b *batcher) report(done, total int) {
	if b.progress != nil {
		b.progress(done, max(done, total))
	}
}

func (b *batcher) done() { b.report(b.rep.Scanned, b.rep.Scanned) }
