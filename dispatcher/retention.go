package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Callback retention. QYS_CALLBACKS keeps every callback until it has been
// worked: it refuses new messages when full (DiscardNew) and drops none by
// age unless told to. What frees it is this trimmer, run by the
// dispatcher because the dispatcher's durable consumer knows what has been
// worked (its ack floor): it removes worked callbacks older than
// CallbackRetention (the history a replay can reach), and, when the stream
// has a byte cap and is fuller than trimAbove of it, every worked callback,
// so a stream full of worked callbacks never refuses new ones. A callback
// above the ack floor (not yet worked, or being retried) is never removed.

// trimAbove is the fill ratio of a capped callback stream above which every
// worked callback is removed, whatever its age.
const trimAbove = 0.8

// trimEvery is how often the trimmer looks.
const trimEvery = 30 * time.Second

// runTrimmer trims until ctx ends.
func (d *Dispatcher) runTrimmer(ctx context.Context) {
	for {
		if n, err := d.TrimCallbacks(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("trimming worked callbacks failed; retrying")
		} else if n > 0 {
			d.log.Info().Uint64("callbacks", n).Msg("worked callbacks trimmed from the stream")
		}
		if !sleep(ctx, trimEvery) {
			return
		}
	}
}

// TrimCallbacks removes worked callbacks from QYS_CALLBACKS as described
// above and returns how many it removed.
func (d *Dispatcher) TrimCallbacks(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	stream, err := d.cfg.JS.Stream(ctx, d.cfg.Names.CallbacksStream())
	if err != nil {
		return 0, fmt.Errorf("callback stream: %w", err)
	}
	cons, err := stream.Consumer(ctx, d.cfg.Names.Durable(d.cfg.Durable))
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
		cutoff := time.Now().Add(-d.cfg.CallbackRetention)
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
	d.metrics.trimmed.Add(float64(keep - first))
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
