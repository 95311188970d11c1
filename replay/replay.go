package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/tracing"
)

// ProgressFunc is told how far a replay got: done of about total
// messages. total is an estimate that can shrink; the last call has
// done == total.
type ProgressFunc func(done, total int)

// Defaults.
const (
	// DefaultBatch is how many events are published before their acks are
	// awaited.
	DefaultBatch = 64
	// MaxErrors is how many failures a Report lists.
	MaxErrors = 20
)

// Item results.
const (
	ResultWouldRepublish = "would_republish" // dry run
	ResultRepublished    = "republished"
	ResultDuplicate      = "already_republished" // by this job, within the duplicate window
	ResultFailed         = "failed"
	ResultUndecodable    = "undecodable"
)

// Config configures a Replayer.
type Config struct {
	// JS and Names locate QYS_CALLBACKS (JS is not needed for dry runs).
	JS    jetstream.JetStream
	Names events.Names
	// Job names the replay: every republished event gets an id derived
	// from its own id and Job (events.ReplayEventID), so running the same
	// job again republishes nothing new. Required: letters, digits, '-'
	// and '_' (1-64).
	Job string
	// Rate caps the events published per second; 0 or less means no cap.
	Rate float64
	// Batch is how many events are published before their acks are
	// awaited (default DefaultBatch, and never more than Rate, so a slow
	// rate still moves steadily).
	Batch int
}

// Replayer republishes events into QYS_CALLBACKS.
type Replayer struct {
	cfg Config
	// wait blocks until n more events may go; nil without a rate.
	wait func(ctx context.Context, n int) error
}

// New returns a Replayer. It fails on a NaN or infinite rate and on a
// missing or malformed job id.
func New(cfg Config) (*Replayer, error) {
	if math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, errors.New("replay: rate must be a finite number")
	}
	if !events.ValidToken(cfg.Job) {
		return nil, fmt.Errorf("replay: job id %q: only letters, digits, '-' and '_' (1-64)", cfg.Job)
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

// Report is the outcome of a replay. Republishing is all a replay does:
// the running dispatchers apply the republished events, confirming each
// through the open API like any callback.
type Report struct {
	Job    string `json:"job"`
	DryRun bool   `json:"dry_run"`
	// Scanned is how many messages (or dead letters) were read.
	Scanned int `json:"scanned"`
	// Selected is how many events matched the selector.
	Selected int `json:"selected"`
	// Republished is how many selected events were published now.
	Republished int `json:"republished"`
	// Duplicates is how many this job had republished already (NATS
	// dropped the repeat within the duplicate window).
	Duplicates int `json:"duplicates"`
	// Failed is how many selected events could not be published.
	Failed int `json:"failed"`
	// Undecodable is how many messages were not valid envelopes.
	Undecodable int `json:"undecodable"`
	// SkippedReplays is how many matching messages were themselves
	// replays (source replay): a stream replay republishes originals only,
	// so replaying a range twice does not double it.
	SkippedReplays int `json:"skipped_replays,omitempty"`
	// Errors lists the first MaxErrors failures and undecodable messages.
	Errors []ItemError `json:"errors,omitempty"`
	// Items lists the selected events: in dry runs, and always for dead
	// letters (with the undecodable ones).
	Items []Item `json:"items,omitempty"`
}

func (rep *Report) addError(e ItemError) {
	if len(rep.Errors) < MaxErrors {
		rep.Errors = append(rep.Errors, e)
	}
}

// Run republishes the events of QYS_CALLBACKS that sel selects, in stream
// order and in batches, at most Config.Rate per second. A dry run
// publishes nothing: Report.Items lists what would be republished.
// Messages that are themselves replays are skipped (their originals are
// in the range). progress may be nil. Run stops early only when ctx ends or the stream
// cannot be read; failed and undecodable events are counted in the
// Report.
func (r *Replayer) Run(ctx context.Context, sel Selector, dryRun bool, progress ProgressFunc) (Report, error) {
	if err := sel.Validate(); err != nil {
		return Report{}, fmt.Errorf("replay: %w", err)
	}
	if r.cfg.JS == nil {
		return Report{}, errors.New("replay: no JetStream")
	}
	b := r.newBatcher(dryRun, false, progress)
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
		if env.Source == events.SourceReplay {
			b.rep.SkippedReplays++ // its original is replayed instead: replays never snowball
			return false, nil
		}
		b.rep.Selected++
		it := newItem(m.seq, m.at, env)
		it.subject = m.subject
		it.trace = m.header
		if err := b.add(ctx, it, total); err != nil {
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

// batcher groups selected items into published batches.
type batcher struct {
	r        *Replayer
	progress ProgressFunc
	// listAll lists every item in the report, not only in dry runs.
	listAll bool
	pending []int // indexes in items
	items   []Item
	rep     Report
}

func (r *Replayer) newBatcher(dryRun, listAll bool, progress ProgressFunc) *batcher {
	return &batcher{r: r, progress: progress, listAll: listAll || dryRun,
		rep: Report{Job: r.cfg.Job, DryRun: dryRun}}
}

func (b *batcher) add(ctx context.Context, it Item, total int) error {
	if b.rep.DryRun {
		it.Result = ResultWouldRepublish
		b.rep.Items = append(b.rep.Items, it)
		b.report(b.rep.Scanned, total)
		return nil
	}
	b.items = append(b.items, it)
	b.pending = append(b.pending, len(b.items)-1)
	if len(b.pending) < b.r.cfg.Batch {
		return nil
	}
	return b.flush(ctx, total)
}

// flush publishes the pending items and awaits their acks.
func (b *batcher) flush(ctx context.Context, total int) error {
	if len(b.pending) == 0 {
		return nil
	}
	pending := b.pending
	b.pending = nil
	if b.r.wait != nil {
		if err := b.r.wait(ctx, len(pending)); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	futures := make([]jetstream.PubAckFuture, len(pending))
	errs := make([]error, len(pending))
	for k, i := range pending {
		futures[k], errs[k] = b.r.publish(&b.items[i])
	}
	acked := 0
	for k, i := range pending {
		it := &b.items[i]
		if errs[k] != nil {
			continue
		}
		select {
		case ack := <-futures[k].Ok():
			it.Result, it.ReplayID = ResultRepublished, it.replayID
			if ack.Duplicate {
				it.Result = ResultDuplicate
			}
			acked++
		case errs[k] = <-futures[k].Err():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A store that syncs acknowledged writes in groups (the embedded
	// server's default) is synced once for the batch before it counts.
	if acked > 0 {
		if err := events.SyncAcked(ctx, b.r.cfg.JS); err != nil {
			for k := range pending {
				if errs[k] == nil {
					errs[k] = err
				}
			}
		}
	}
	for k, i := range pending {
		it := &b.items[i]
		err := errs[k]
		switch {
		case err != nil:
			b.rep.Failed++
			it.Result, it.Error = ResultFailed, err.Error()
			b.rep.addError(ItemError{Seq: it.Seq, DeadLetterID: it.DeadLetterID, EventID: it.EventID,
				ContractID: it.ContractID, Error: err.Error()})
		case it.Result == ResultDuplicate:
			b.rep.Duplicates++
		default:
			b.rep.Republished++
		}
		if b.listAll {
			b.rep.Items = append(b.rep.Items, *it)
		}
	}
	b.items = b.items[:0]
	b.report(b.rep.Scanned, total)
	return nil
}

// publish sends it as a replay: its own id (also the Nats-Msg-Id),
// source replay, the original subject, and the replay headers.
func (r *Replayer) publish(it *Item) (jetstream.PubAckFuture, error) {
	env := *it.Envelope
	env.ID = events.ReplayEventID(it.EventID, r.cfg.Job)
	env.Source = events.SourceReplay
	data, err := env.Encode()
	if err != nil {
		return nil, fmt.Errorf("replay: encode: %w", err)
	}
	subj := it.subject
	if _, _, ok := r.cfg.Names.SplitCallbackSubject(subj); !ok {
		subj = r.cfg.Names.CallbackSubject(env.Tenant, env.Kind, env.Type)
	}
	msg := nats.NewMsg(subj)
	msg.Data = data
	// A replay continues the original callback's trace.
	tracing.ToNATS(tracing.FromNATS(context.Background(), it.trace), msg)
	msg.Header.Set(events.HeaderReplay, r.cfg.Job)
	msg.Header.Set(events.HeaderReplayOf, it.EventID)
	if it.DeadLetterID != 0 {
		msg.Header.Set(events.HeaderDeadLetterID, strconv.FormatInt(it.DeadLetterID, 10))
		if it.dlqSeq != 0 {
			msg.Header.Set(events.HeaderDeadLetterSeq, strconv.FormatUint(it.dlqSeq, 10))
		}
	}
	it.replayID = env.ID
	f, err := r.cfg.JS.PublishMsgAsync(msg, jetstream.WithMsgID(env.ID))
	if err != nil {
		return nil, fmt.Errorf("replay: publish: %w", err)
	}
	return f, nil
}

func (b *batcher) report(done, total int) {
	if b.progress != nil {
		b.progress(done, max(done, total))
	}
}

func (b *batcher) done() { b.report(b.rep.Scanned, b.rep.Scanned) }
