// Package activity keeps a day of per-minute figures in memory: callbacks
// received and refused (per tenant), events applied, retried and
// dead-lettered, and the dispatcher's lag. The receiver and the
// dispatcher add their counts as they happen (the Activity of their
// Options); internal/app samples the lag from the dispatcher's consumer
// every 10 s. The admin API's GET /activity reads it for the console's
// charts. Nothing is stored: a restart starts a new day.
package activity

import (
	"sort"
	"sync"
	"time"
)

// The series.
const (
	Received     = "received"
	Refused      = "refused"
	Applied      = "applied"
	Retried      = "retried"
	DeadLettered = "dead_lettered"
	// Lag is a gauge: the messages not yet delivered or acknowledged.
	Lag = "lag"
)

// Names lists the series in display order.
var Names = []string{Received, Applied, Refused, Retried, DeadLettered, Lag}

// Minutes is how many minutes a Recorder keeps.
const Minutes = 24 * 60

type key struct{ series, tenant string }

type bucket struct {
	minute int64 // Unix minutes; 0: empty
	vals   map[key]float64
}

// Recorder holds the minutes. The zero value is not usable: call New.
type Recorder struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets []bucket
	gauges  map[string]bool
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{now: time.Now, buckets: make([]bucket, Minutes), gauges: map[string]bool{Lag: true}}
}

// SetClock replaces the clock (tests).
func (r *Recorder) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

func (r *Recorder) current() *bucket {
	m := r.now().Unix() / 60
	b := &r.buckets[m%Minutes]
	if b.minute != m {
		b.minute, b.vals = m, map[key]float64{}
	}
	return b
}

// Add adds v to a counter series of tenant ("" for all tenants) in the
// current minute. A nil Recorder does nothing.
func (r *Recorder) Add(series, tenant string, v float64) {
	if r == nil || v == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current().vals[key{series, tenant}] += v
}

// Set records a gauge's value in the current minute (the highest of the
// minute is kept).
func (r *Recorder) Set(series, tenant string, v float64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.current()
	k := key{series, tenant}
	if old, ok := b.vals[k]; !ok || v > old {
		b.vals[k] = v
	}
}

// Series is one series of a window.
type Series struct {
	Name   string
	Tenant string
	// Points are the window's steps, oldest first: the sum of a counter
	// over the step, the highest value of a gauge.
	Points []float64
}

// Window returns the last d (rounded to steps of step) up to the current
// minute: its first step's start and the series, in Names order, then by
// tenant. Steps of a minute that held no figures are 0.
func (r *Recorder) Window(d, step time.Duration) (start time.Time, out []Series) {
	if step < time.Minute {
		step = time.Minute
	}
	if d > Minutes*time.Minute {
		d = Minutes * time.Minute
	}
	per := int64(step / time.Minute)
	n := int64(d / step)
	if n < 1 {
		n = 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The window is the n steps ending with the current minute's step.
	cur := r.now().Unix() / 60 / per
	firstMinute := (cur - n + 1) * per
	start = time.Unix(firstMinute*60, 0).UTC()
	byKey := map[key][]float64{}
	for m := firstMinute; m < firstMinute+n*per; m++ {
		b := r.buckets[((m%Minutes)+Minutes)%Minutes]
		if b.minute != m {
			continue
		}
		i := (m - firstMinute) / per
		for k, v := range b.vals {
			pts := byKey[k]
			if pts == nil {
				pts = make([]float64, n)
				byKey[k] = pts
			}
			if r.gauges[k.series] {
				pts[i] = max(pts[i], v)
			} else {
				pts[i] += v
			}
		}
	}
	order := map[string]int{}
	for i, s := range Names {
		order[s] = i
	}
	for k, pts := range byKey {
		out = append(out, Series{Name: k.series, Tenant: k.tenant, Points: pts})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return order[out[i].Name] < order[out[j].Name]
		}
		return out[i].Tenant < out[j].Tenant
	})
	return start, out
}
