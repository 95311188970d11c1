package config

import (
	"strings"
	"time"

	"github.com/qyshook/qyshook/delivery"
)

// Delivery tunes the delivery stage (HTTP endpoints, docs/delivery.md).
type Delivery struct {
	// Schedule is the delay before each retry (QYSHOOK_DELIVERY_SCHEDULE,
	// comma-separated durations; default delivery.DefaultSchedule, 15
	// attempts over about 3 days). Each delay is spread by ±20 %.
	Schedule []time.Duration
	// Timeout bounds one attempt (QYSHOOK_DELIVERY_TIMEOUT, default 15s,
	// 1s to 5m).
	Timeout time.Duration
	// DisableAfter: an endpoint whose attempts all failed for this long is
	// disabled, with a warning fact at half of it
	// (QYSHOOK_DELIVERY_DISABLE_AFTER, default 120h, 1m to 8760h).
	DisableAfter time.Duration
	// AttemptRetention: attempts are kept this long
	// (QYSHOOK_DELIVERY_ATTEMPT_RETENTION, default 720h, 1h to 87600h).
	AttemptRetention time.Duration
}

// maxScheduleLen bounds QYSHOOK_DELIVERY_SCHEDULE.
const maxScheduleLen = 100

func (e envReader) delivery() Delivery {
	d := Delivery{
		Timeout:          e.duration("DELIVERY_TIMEOUT"),
		DisableAfter:     e.duration("DELIVERY_DISABLE_AFTER"),
		AttemptRetention: e.duration("DELIVERY_ATTEMPT_RETENTION"),
	}
	raw := e.str("DELIVERY_SCHEDULE", "")
	if raw == "" {
		d.Schedule = delivery.DefaultSchedule
		return d
	}
	for _, part := range strings.Split(raw, ",") {
		v, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || v < 100*time.Millisecond || v > 168*time.Hour {
			e.problem("DELIVERY_SCHEDULE", "%q: want comma-separated durations of 100ms to 168h, such as 5s,1m,10m,1h", strings.TrimSpace(part))
			return d
		}
		d.Schedule = append(d.Schedule, v)
	}
	if len(d.Schedule) > maxScheduleLen {
		e.problem("DELIVERY_SCHEDULE", "%d delays: at most %d", len(d.Schedule), maxScheduleLen)
	}
	return d
}
