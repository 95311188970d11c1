package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/activity"
)

// activityEvery is how often the process's metrics are sampled into the
// activity recorder.
const activityEvery = 10 * time.Second

// sampleActivity feeds rec from the metrics of g every activityEvery until
// ctx ends: the receiver's stored and refused callbacks by tenant, the
// dispatcher's applied, failed (retried) and dead-lettered events, and its
// lag (pending plus unacknowledged). Counters go in as the increase since
// the previous sample.
func sampleActivity(ctx context.Context, g prometheus.Gatherer, rec *activity.Recorder) {
	prev := map[[2]string]float64{}
	first := true
	sample := func() {
		mfs, err := g.Gather()
		if err != nil && len(mfs) == 0 {
			return
		}
		cur := map[[2]string]float64{}
		lag, haveLag := 0.0, false
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				switch mf.GetName() {
				case "qyshook_receiver_requests_total":
					var tenant, outcome string
					for _, l := range m.GetLabel() {
						switch l.GetName() {
						case "tenant":
							tenant = l.GetValue()
						case "outcome":
							outcome = l.GetValue()
						}
					}
					switch outcome {
					case "success":
						cur[[2]string{activity.Received, tenant}] += m.GetCounter().GetValue()
					case "duplicate", "check":
					default:
						cur[[2]string{activity.Refused, tenant}] += m.GetCounter().GetValue()
					}
				case "qyshook_dispatcher_events_applied_total":
					cur[[2]string{activity.Applied, ""}] += m.GetCounter().GetValue()
				case "qyshook_dispatcher_events_failed_total":
					cur[[2]string{activity.Retried, ""}] += m.GetCounter().GetValue()
				case "qyshook_dispatcher_dead_letters_total":
					cur[[2]string{activity.DeadLettered, ""}] += m.GetCounter().GetValue()
				case "qyshook_dispatcher_pending_events", "qyshook_dispatcher_unacked_events":
					lag += m.GetGauge().GetValue()
					haveLag = true
				}
			}
		}
		if !first {
			for k, v := range cur {
				if d := v - prev[k]; d > 0 {
					rec.Add(k[0], k[1], d)
				}
			}
		}
		if haveLag {
			rec.Set(activity.Lag, "", lag)
		}
		prev, first = cur, false
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
