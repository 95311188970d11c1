// Package trimmer is the callback stream's retention stage: it removes
// worked callbacks from QYS_CALLBACKS.
package trimmer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/events"
)

// Callback retention. QYS_CALLBACKS keeps every callback until it has been
// worked: it refuses new messages when full (DiscardNew) and drops none by
// age unless told to. What frees it is this trimmer, which reads what has
// been worked from the dispatcher's durable consumer (its ack floor): it
// removes worked callbacks older than Retention (the history a replay can
// reach), and, when the stream
// has a byte cap and is fuller than trimAbove of it, every worked callback,
// so a stream full of worked callbacks never refuses new ones. A callback
// above the ack floor (not yet worked, or being retried) is never removed.

// trimAbove is the fill ratio of a capped callback stream above which every
// worked callback is removed, whatever its age.
const trimAbove = 0.8

// DefaultEvery is how often the trimmer looks.
const DefaultEvery = 30 * time.Second

// DefaultRetention is how long worked callbacks stay for replays.
const DefaultRetention = 720 * time.Hour

// Options configure a Trimmer. JS is required.
type Options struct {
	JS    jetstream.JetStream
	Names events.Names
	// Durable is the dispatcher's consumer, whose ack floor says what is
	// worked (default events.DurableLedger).
	Durable string
	// Retention is how long worked callbacks stay in QYS_CALLBACKS for
	// replays (default DefaultRetention).
	Retention time.Duration
	// Every is how often it trims (default DefaultEvery).
	Every  time.Duration
	Logger zerolog.Logger
	// Registerer receives qyshook_dispatcher_callbacks_trimmed_total (nil:
	// not registered).
	Registerer prometheus.Registerer
}

// Trimmer removes worked callbacks from QYS_CALLBACKS.
type Trimmer struct {
	o       Options
	trimmed prometheus.Counter
}

// New returns a Trimmer; Run starts it.
func New(o Options) (*Trimmer, error) {
	if o.JS == nil {
		return nil, errors.New("trimmer: JetStream required")
	}
	if o.Durable == "" {
		o.Durable = events.DurableLedger
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	t := &Trimmer{o: o, trimmed: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "qyshook_dispatcher_callbacks_trimmed_total",
		Help: "Worked callbacks removed from QYS_CALLBACKS (past the retention, or a capped stream nearly full).",
	})}
	if o.Registerer != nil {
		if err := o.Registerer.Register(t.trimmed); err != nil {
			return nil, fmt.Errorf("trimmer: metrics: %w", err)
		}
	}
	return t, nil
}

// Run trims until ctx ends.
func (t *Trimmer) Run(ctx context.Context) error {
	for {
		if n, err := t.Trim(ctx); err != nil && ctx.Err() == nil {
			t.o.Logger.Warn().Err(err).Msg("trimming worked callbacks failed; retrying")
		} else if n > 0 {
			t.o.Logger.Info().Uint64("callbacks", n).Msg("worked callbacks trimmed from the stream")
		}
		if !backoff.Sleep(ctx, t.o.Every) {
			return nil
		}
	}
}

// Trim removes worked callbacks from QYS_CALLBACKS as described above and
// returns how many it removed.
func (t *Trimmer) Trim(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	stream, err := t.o.JS.Stream(ctx, t.o.Names.CallbacksStream())
	if err != nil {
		return 0, fmt.Errorf("callback stream: %w", err)
	}
	cons, err := stream.Consumer(ctx, t.o.Names.Durable(t.o.Durable))
	if err != nil {
		return 0, fmt.Errorf("consumer: %w", err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("consumer info: %w", err)
	}
	si, err := stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	first, floor := si.State.FirstSeq, ci.AckFloor.Stream
	if si.State.Msgs == 0 || floor < first {
		return 0, nil // nothing worked is stored
	}
	keep := floor + 1 // the first sequence to keep: everything below is worked
	capped := si.Config.MaxBytes > 0 && float64(si.State.Bytes) > trimAbove*float64(si.Config.MaxBytes)
	if !capped {
		// Keep the worked callbacks younger than the retention: find the
		// first of them (the stream is contiguous from FirstSeq).
		cutoff := time.Now().Add(-t.o.Retention)
		if keep, err = firstAtOrAfter(ctx, stream, first, floor, cutoff); err != nil {
			return 0, err
		}
	}
	if keep <= first {
		return 0, nil
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSequence(keep)); err != nil {
		return 0, fmt.Errorf("purge below %d: %w", keep, err)
	}
	t.trimmed.Add(float64(keep - first))
	return keep - first, nil
}

// firstAtOrAfter returns the first sequence in [lo, hi] whose message was
// stored at or after t, or hi+1 when none was (binary search: stored times
// grow with the sequence).
func firstAtOrAfter(ctx context.Context, s jetstream.Stream, lo, hi uint64, t time.Time) (uint64, error) {
	end := hi + 1
	for lo < end {
		mid := lo + (end-lo)/2
		m, err := s.GetMsg(ctx, mid)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return lo, nil // a gap (purged meanwhile): trim no further this time
		}
		if err != nil {
			return 0, fmt.Errorf("message %d: %w", mid, err)
		}
		if m.Time.Before(t) {
			lo = mid + 1
		} else {
			end = mid
		}
	}
	return lo, nil
}
