package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/anchor"
	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/bundler"
	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/receiver"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/retention"
	"github.com/qyshook/qyshook/store/sqlite"
	"github.com/qyshook/qyshook/trimmer"
	"github.com/qyshook/qyshook/tsa"
)

// Bound is the accepted range of one duration or size setting. A value
// outside [Min, Max] is refused with one line naming the setting and its
// range; Off, when set, is one more accepted value with its own meaning
// (e.g. QYSHOOK_RECONCILE_INTERVAL=0 disables reconciliation).
type Bound struct {
	// Name is the variable without the QYSHOOK_ prefix.
	Name string
	// Size: the setting is a size in bytes; Count: a whole number (e.g.
	// requests per second); otherwise a duration.
	Size  bool
	Count bool
	// Default is the value used when the variable is unset.
	Default int64
	// Min and Max bound an explicit value (nanoseconds or bytes).
	Min, Max int64
	// Off, if non-empty, is the literal that selects OffValue.
	Off      string
	OffValue int64
	// OffMeaning says what Off does, for the error line and the README.
	OffMeaning string
}

// Bounds lists every duration and size setting; the readers refuse a name
// not listed here, so no such setting can go unbounded.
var Bounds = []Bound{
	{Name: "MAX_BODY", Size: true, Default: receiver.DefaultMaxBody, Min: 1 << 10, Max: 16 << 20},
	{Name: "SQLITE_CACHE", Size: true, Default: sqlite.DefaultCacheSize, Min: 1 << 20, Max: 64 << 30},
	{Name: "IDLE_TIMEOUT", Default: int64(DefaultIdleTimeout), Min: int64(time.Second), Max: int64(10 * time.Minute)},
	{Name: "READ_HEADER_TIMEOUT", Default: int64(DefaultReadHeaderTimeout), Min: int64(500 * time.Millisecond), Max: int64(time.Minute)},
	{Name: "PUBLISH_TIMEOUT", Default: int64(receiver.DefaultPublishTimeout), Min: int64(100 * time.Millisecond), Max: int64(time.Minute)},
	{Name: "TIMESTAMP_PAST", Default: int64(DefaultTimestampPast), Min: int64(time.Minute), Max: int64(720 * time.Hour)},
	{Name: "TIMESTAMP_FUTURE", Default: int64(DefaultTimestampFuture), Min: 0, Max: int64(time.Hour)},
	{Name: "STREAM_MAX_AGE", Default: int64(720 * time.Hour), Min: int64(time.Hour), Max: int64(87600 * time.Hour)},
	{Name: "STREAM_MAX_BYTES", Size: true, Default: 0, Min: 1 << 10, Max: 64 << 40, Off: "-1", OffValue: -1, OffMeaning: "no cap"},
	{Name: "DUPLICATE_WINDOW", Default: int64(48 * time.Hour), Min: int64(time.Minute), Max: int64(720 * time.Hour)},
	{Name: "NATS_SYNC", Default: 0, Min: int64(10 * time.Millisecond), Max: int64(10 * time.Minute), Off: "always", OffValue: 0, OffMeaning: "every write durable before it is used (grouped; each-write: one fsync per write)"},
	{Name: "ACK_WAIT", Default: int64(dispatcher.DefaultAckWait), Min: int64(time.Second), Max: int64(time.Hour)},
	{Name: "DOWNLOAD_TIMEOUT", Default: int64(archiver.DefaultDownloadTimeout), Min: int64(10 * time.Second), Max: int64(6 * time.Hour)},
	{Name: "RECONCILE_INTERVAL", Default: int64(reconcile.DefaultInterval), Min: int64(100 * time.Millisecond), Max: int64(24 * time.Hour), Off: "0", OffValue: 0, OffMeaning: "disables"},
	{Name: "RECONCILE_STUCK_AFTER", Default: int64(reconcile.DefaultStuckAfter), Min: int64(time.Minute), Max: int64(720 * time.Hour)},
	{Name: "RECONCILE_WINDOW", Default: int64(reconcile.DefaultWindow), Min: int64(time.Hour), Max: int64(2160 * time.Hour)},
	{Name: "SHUTDOWN_TIMEOUT", Default: int64(dispatcher.DefaultShutdownTimeout), Min: int64(MinShutdownTimeout), Max: int64(MaxShutdownTimeout)},
	{Name: "CALLBACK_RETENTION", Default: int64(trimmer.DefaultRetention), Min: int64(time.Hour), Max: int64(8760 * time.Hour)},
	{Name: "API_RATE", Count: true, Default: 0, Min: 1, Max: MaxAPIRate, Off: "0", OffValue: 0, OffMeaning: "no rate limit"},
	{Name: "API_INFLIGHT", Count: true, Default: 0, Min: 1, Max: MaxAPIInFlight, Off: "0", OffValue: 0, OffMeaning: "no bound"},
	{Name: "LEDGER_RETENTION", Default: int64(retention.DefaultEvents), Min: int64(168 * time.Hour), Max: int64(87600 * time.Hour), Off: "0", OffValue: -1, OffMeaning: "keeps every event"},
	{Name: "DELIVERY_TIMEOUT", Default: int64(delivery.DefaultTimeout), Min: int64(time.Second), Max: int64(5 * time.Minute)},
	{Name: "DELIVERY_DISABLE_AFTER", Default: int64(delivery.DefaultDisableAfter), Min: int64(time.Minute), Max: int64(8760 * time.Hour)},
	{Name: "DELIVERY_ATTEMPT_RETENTION", Default: int64(delivery.DefaultAttemptRetention), Min: int64(time.Hour), Max: int64(87600 * time.Hour)},
	{Name: "LOG_CHECKPOINT_INTERVAL", Default: int64(anchor.DefaultInterval), Min: int64(time.Second), Max: int64(24 * time.Hour)},
	{Name: "TSA_MAX_DELAY", Default: int64(anchor.DefaultMaxDelay), Min: int64(10 * time.Second), Max: int64(168 * time.Hour)},
	{Name: "EVIDENCE_INTERVAL", Default: int64(bundler.DefaultInterval), Min: int64(time.Second), Max: int64(24 * time.Hour)},
	{Name: "TSA_TIMEOUT", Default: int64(tsa.DefaultTimeout), Min: int64(time.Second), Max: int64(5 * time.Minute)},
	{Name: "OUTBOX_RETENTION", Default: int64(retention.DefaultFacts), Min: int64(time.Hour), Max: int64(87600 * time.Hour), Off: "0", OffValue: -1, OffMeaning: "keeps every published fact"},
}

// Ceilings of the per-tenant API budget (QYSHOOK_API_RATE, requests per
// second, and QYSHOOK_API_INFLIGHT, requests at once).
const (
	MaxAPIRate     = 100000
	MaxAPIInFlight = 10000
)

// BoundOf returns the bound of a setting (name without the prefix).
func BoundOf(name string) (Bound, bool) {
	for _, b := range Bounds {
		if b.Name == name {
			return b, true
		}
	}
	return Bound{}, false
}

// Format writes a value of this setting the way the README and the error
// lines do: 90s, 10m, 72h, 1MiB.
func (b Bound) Format(v int64) string {
	if b.Count {
		return strconv.FormatInt(v, 10)
	}
	if b.Size {
		return FormatBytes(v)
	}
	return FormatDuration(time.Duration(v))
}

// Range is the accepted range as one phrase: "1s to 1h", or
// "0 (disables) or 100ms to 24h".
func (b Bound) Range() string {
	r := b.Format(b.Min) + " to " + b.Format(b.Max)
	if b.Off != "" {
		r = b.Off + " (" + b.OffMeaning + ") or " + r
	}
	return r
}

// read parses the setting's variable and checks it against the bound.
func (b Bound) read(e envReader) int64 {
	v := e.str(b.Name, "")
	if v == "" {
		return b.Default
	}
	if b.Off != "" && strings.EqualFold(v, b.Off) {
		return b.OffValue
	}
	var n int64
	if b.Count {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			e.problem(b.Name, "%q is not a whole number; accepted: %s", v, b.Range())
			return b.Default
		}
	} else if b.Size {
		var err error
		if n, err = ParseBytes(v); err != nil {
			e.problem(b.Name, "%v; accepted: %s", err, b.Range())
			return b.Default
		}
	} else {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.problem(b.Name, "%q is not a duration such as 90s, 5m or 72h; accepted: %s", v, b.Range())
			return b.Default
		}
		n = int64(d)
	}
	if n < b.Min || n > b.Max {
		e.problem(b.Name, "%q is outside the accepted range %s", v, b.Range())
		return b.Default
	}
	return n
}

// FormatDuration writes d in its largest whole unit: 72h, 10m, 90s, 100ms.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}

// FormatBytes writes n in its largest whole binary unit: 1KiB, 16MiB, 64TiB.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// mulBytes multiplies with an overflow check.
func mulBytes(n, mult int64, v string) (int64, error) {
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", v)
	}
	return n * mult, nil
}
