package app

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/events"
)

// activityEvery is how often the dispatcher's lag is sampled into the
// activity recorder.
var activityEvery = 10 * time.Second

// sampleLag records the dispatcher consumer's lag (pending plus
// unacknowledged) into rec every activityEvery until ctx ends: one
// consumer info request per sample, the one figure of the console's charts
// that only the server knows. The counts (received, refused, applied,
// retried, dead-lettered) are not sampled: the receiver and the dispatcher
// record them as they happen (their Options.Activity), and nothing
// gathers the metrics registry for them.
func sampleLag(ctx context.Context, js jetstream.JetStream, names events.Names, rec *activity.Recorder) {
	sample := func() {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		// Consumer reads the consumer's info: its cached copy is fresh.
		cons, err := js.Consumer(c, names.CallbacksStream(), names.Durable(events.DurableLedger))
		if err != nil {
			return
		}
		info := cons.CachedInfo()
		rec.Set(activity.Lag, "", float64(info.NumPending)+float64(info.NumAckPending))
	}
	sample()
	t := time.NewTicker(activityEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sample()
		}
	}
}
