// Package failures keeps, in memory, what is failing now: the transient
// failures the dispatcher retries, grouped by cause (tenant, reason, the
// platform's error code), each with a count, since when and the last
// error. The dispatcher reports into a Tracker; the admin API's overview,
// /readyz's details and a metric read it. It is the "failing now" signal:
// the dead letters only say what failed for good, minutes later.
//
// A cause ends when an event of its tenant is applied (the dependency
// answers again) or when it has not failed for TTL (nothing left retries
// it). A Tracker is per process: an admin API in a process without the
// dispatcher sees no causes (the streams' redelivery counts still tell).
package failures

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultTTL is how long a cause stays without a new failure.
const DefaultTTL = 10 * time.Minute

// maxCauses bounds the causes kept (the oldest-seen dropped first).
const maxCauses = 256

// maxError bounds the kept error text.
const maxError = 300

// Cause is one cause of failure and its figures.
type Cause struct {
	Tenant string
	// Reason is the dispatcher's reason code (api_error, timeout,
	// rate_limited, store_error, disk_full, …).
	Reason string
	// Code is the platform's error code ("" when the error has none).
	Code string
	// Failures counts the failed deliveries since FirstSeen.
	Failures  int64
	FirstSeen time.Time
	LastSeen  time.Time
	// LastError is the last error's text, cut to 300 bytes.
	LastError string
}

// Platform reports whether the cause is the platform API failing (not
// the ledger or the disk).
func (c Cause) Platform() bool { return IsPlatformReason(c.Reason) }

// IsPlatformReason reports whether a dispatcher reason code says the
// platform's open API failed (errors, time-outs, rate limits).
func IsPlatformReason(reason string) bool {
	switch reason {
	case "api_error", "timeout", "rate_limited":
		return true
	}
	return false
}

type key struct{ tenant, reason, code string }

// Tracker records failures. Its zero value is not usable: call New.
type Tracker struct {
	mu     sync.Mutex
	ttl    time.Duration
	now    func() time.Time
	causes map[key]*Cause
}

// New returns a Tracker whose causes expire after ttl without a failure
// (DefaultTTL when ttl <= 0).
func New(ttl time.Duration) *Tracker {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Tracker{ttl: ttl, now: time.Now, causes: map[key]*Cause{}}
}

// SetClock replaces the clock (tests).
func (t *Tracker) SetClock(now func() time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = now
}

// Failed records one failed delivery. A nil Tracker records nothing.
func (t *Tracker) Failed(tenant, reason, code, errText string) {
	if t == nil {
		return
	}
	if len(errText) > maxError {
		errText = cut(errText, maxError)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.expire(now)
	k := key{tenant, reason, code}
	c := t.causes[k]
	if c == nil {
		if len(t.causes) >= maxCauses {
			t.dropOldest()
		}
		c = &Cause{Tenant: tenant, Reason: reason, Code: code, FirstSeen: now}
		t.causes[k] = c
	}
	c.Failures++
	c.LastSeen = now
	c.LastError = errText
}

// Succeeded ends the causes of tenant: one of its events was applied. A
// nil Tracker does nothing.
func (t *Tracker) Succeeded(tenant string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.causes {
		if k.tenant == tenant {
			delete(t.causes, k)
		}
	}
}

// Causes returns the causes failing now, the longest-failing first.
func (t *Tracker) Causes() []Cause {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(t.now())
	out := make([]Cause, 0, len(t.causes))
	for _, c := range t.causes {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].Tenant+out[i].Reason+out[i].Code < out[j].Tenant+out[j].Reason+out[j].Code
	})
	return out
}

// PlatformFailing returns since when the platform API has been failing
// without an event applied in between (the earliest first-seen of the
// platform causes), or false.
func (t *Tracker) PlatformFailing() (since time.Time, ok bool) {
	for _, c := range t.Causes() {
		if c.Platform() && (!ok || c.FirstSeen.Before(since)) {
			since, ok = c.FirstSeen, true
		}
	}
	return since, ok
}

// Now is the tracker's clock.
func (t *Tracker) Now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.now()
}

func (t *Tracker) expire(now time.Time) {
	for k, c := range t.causes {
		if now.Sub(c.LastSeen) > t.ttl {
			delete(t.causes, k)
		}
	}
}

func (t *Tracker) dropOldest() {
	var oldest key
	first := true
	for k, c := range t.causes {
		if first || c.LastSeen.Before(t.causes[oldest].LastSeen) {
			oldest, first = k, false
		}
	}
	delete(t.causes, oldest)
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	for n > 0 && n < len(s) && (s[n]&0xC0) == 0x80 {
		n--
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
