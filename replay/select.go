package replay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
)

// Selector chooses the events to replay. Zero fields select everything;
// set fields combine with AND.
type Selector struct {
	// Since selects events stored at or after this time (inclusive).
	Since time.Time
	// Until selects events stored before this time (exclusive).
	Until time.Time
	// FromSeq and ToSeq bound the stream sequence (both inclusive).
	FromSeq, ToSeq uint64
	// Tenant selects one tenant.
	Tenant string
	// ContractID selects one contract (or, for certification events, one
	// certification request id).
	ContractID string
	// CallbackType selects one callbackType (case-insensitive).
	CallbackType string
	// Limit caps the number of events selected (0: no cap).
	Limit int
}

// Bounded reports whether s narrows the stream at all (a time or
// sequence bound, a tenant, a contract or a type; Limit alone does not):
// an unbounded selector would re-drive the whole stream.
func (s Selector) Bounded() bool {
	return !s.Since.IsZero() || !s.Until.IsZero() || s.FromSeq > 0 || s.ToSeq > 0 ||
		s.Tenant != "" || s.ContractID != "" || s.CallbackType != ""
}

// Validate reports contradictory bounds.
func (s Selector) Validate() error {
	var errs []error
	if !s.Since.IsZero() && !s.Until.IsZero() && !s.Until.After(s.Since) {
		errs = append(errs, errors.New("until must be after since"))
	}
	if s.ToSeq > 0 && s.ToSeq < s.FromSeq {
		errs = append(errs, errors.New("to-seq must not be below from-seq"))
	}
	if s.Limit < 0 {
		errs = append(errs, errors.New("limit must not be negative"))
	}
	if s.Tenant != "" && !events.ValidToken(s.Tenant) {
		errs = append(errs, fmt.Errorf("tenant %q is not a valid tenant name", s.Tenant))
	}
	return errors.Join(errs...)
}

// matches applies the envelope filters (tenant, contract, type).
func (s Selector) matches(env *events.Envelope) bool {
	if s.Tenant != "" && env.Tenant != s.Tenant {
		return false
	}
	if s.ContractID != "" && env.ContractID != s.ContractID && (env.Auth == nil || env.Auth.RequestID != s.ContractID) {
		return false
	}
	if s.CallbackType != "" && !strings.EqualFold(env.Type, s.CallbackType) {
		return false
	}
	return true
}

// Item is one selected event.
type Item struct {
	// Seq is the stream sequence (for a dead letter: the sequence it had).
	Seq uint64 `json:"seq"`
	// Time is when the stream stored the event (for a dead letter: when it
	// was dead-lettered).
	Time time.Time `json:"time"`
	// DeadLetterID is the dead_letters row id (dead-letter replays only).
	DeadLetterID int64  `json:"dead_letter_id,omitempty"`
	Tenant       string `json:"tenant"`
	Kind         string `json:"kind"`
	Type         string `json:"type"`
	ContractID   string `json:"contract_id,omitempty"`
	EventID      string `json:"event_id"`
	// ReplayID is the id the event was republished with.
	ReplayID string `json:"replay_id,omitempty"`
	// Result is one of the Result constants; Error says why it failed.
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
	// Envelope is the decoded event.
	Envelope *events.Envelope `json:"-"`

	subject  string      // the subject it was stored on
	trace    nats.Header // the original's trace context headers (nil: none)
	dlqSeq   uint64      // its dead letter's message in QYS_DLQ (0: unknown)
	replayID string
}

func newItem(seq uint64, at time.Time, env *events.Envelope) Item {
	id := env.ContractID
	if id == "" && env.Auth != nil {
		id = env.Auth.RequestID
	}
	return Item{Seq: seq, Time: at.UTC(), Tenant: env.Tenant, Kind: env.Kind, Type: env.Type,
		ContractID: id, EventID: env.ID, Envelope: env}
}

// scanned is one message read from the stream.
type scanned struct {
	seq       uint64
	at        time.Time
	subject   string
	data      []byte
	remaining uint64      // an estimate of the messages still to read after this one
	header    nats.Header // the stored message's headers (its trace context)
}

// fetchWait bounds one fetch; a fetch that brings nothing ends the scan.
const fetchWait = time.Second

// scan reads QYS_CALLBACKS from the selector's start to the stream's last
// sequence at the start (or ToSeq), in order, and calls visit for every
// message until visit returns stop or an error. Time and sequence bounds
// are applied here; envelope filters are the caller's.
func (r *Replayer) scan(ctx context.Context, sel Selector, visit func(scanned) (stop bool, err error)) error {
	stream, err := r.cfg.JS.Stream(ctx, r.cfg.Names.CallbacksStream())
	if err != nil {
		return fmt.Errorf("replay: stream %s: %w", r.cfg.Names.CallbacksStream(), err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("replay: stream info: %w", err)
	}
	last := info.State.LastSeq
	if sel.ToSeq > 0 && sel.ToSeq < last {
		last = sel.ToSeq
	}
	if info.State.Msgs == 0 || last == 0 || sel.FromSeq > last {
		return nil
	}
	cons, err := stream.OrderedConsumer(ctx, r.consumerConfig(sel))
	if err != nil {
		return fmt.Errorf("replay: consumer: %w", err)
	}
	for {
		msgs, err := fetch(cons, r.cfg.Batch)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		for _, m := range msgs {
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("replay: message metadata: %w", err)
			}
			seq := md.Sequence.Stream
			if seq > last || (!sel.Until.IsZero() && !md.Timestamp.Before(sel.Until)) {
				return nil
			}
			if !sel.Since.IsZero() && md.Timestamp.Before(sel.Since) {
				continue
			}
			stop, err := visit(scanned{seq: seq, at: md.Timestamp, subject: m.Subject(), data: m.Data(), remaining: min(md.NumPending, last-seq),
				header: m.Headers()})
			if err != nil || stop {
				return err
			}
			if seq == last || md.NumPending == 0 {
				return nil
			}
		}
	}
}

func (r *Replayer) consumerConfig(sel Selector) jetstream.OrderedConsumerConfig {
	filter := r.cfg.Names.CallbacksWildcard()
	if sel.Tenant != "" {
		filter = r.cfg.Names.CallbacksTenantWildcard(sel.Tenant)
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter}, // one subject: sent as FilterSubject (NATS 2.9)
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute,
	}
	switch {
	case sel.FromSeq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, sel.FromSeq
	case !sel.Since.IsZero():
		since := sel.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	return cfg
}

// fetch reads one batch completely before it is processed, so slow
// publishing never holds a pull request open. It takes what the server has at
// once, and only when that is nothing waits up to fetchWait for more.
func fetch(cons jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	msgs, err := drain(cons.FetchNoWait(n))
	if err != nil || len(msgs) > 0 {
		return msgs, err
	}
	return drain(cons.Fetch(n, jetstream.FetchMaxWait(fetchWait)))
}

func drain(batch jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
	if err != nil {
		return nil, fmt.Errorf("replay: fetch: %w", err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
		return nil, fmt.Errorf("replay: fetch: %w", err)
	}
	return msgs, nil
}
