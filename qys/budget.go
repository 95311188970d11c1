package qys

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Budget defaults.
const (
	// DefaultBudgetCooldown is how long a budget stays shrunk after the
	// platform answered "rate limited" before it grows back one step.
	DefaultBudgetCooldown = 30 * time.Second
	// DefaultThrottlePause is how long a budget without a rate pauses all
	// requests after a rate-limited answer without Retry-After.
	DefaultThrottlePause = time.Second
	// minShrinkGap: rate-limited answers closer together than this halve
	// the rate once (a burst of requests in flight all answered 429 is one
	// signal, not ten).
	minShrinkGap = time.Second
	// minRateFraction bounds the shrinking: the rate never falls below
	// base/64.
	minRateFraction = 64
	// maxThrottlePause caps the pause a Retry-After can impose.
	maxThrottlePause = time.Minute
)

// BudgetOptions configures a Budget. The zero value is a budget without
// limits that only pauses on rate-limited answers.
type BudgetOptions struct {
	// Rate is the request rate in requests per second (a token bucket); 0
	// means no rate limit.
	Rate float64
	// Burst is the token bucket's size: how many requests may start at
	// once after an idle spell (default 1, so requests are evenly spaced;
	// with a burst B a window of T seconds holds at most B + Rate·T
	// requests).
	Burst int
	// InFlight bounds the requests under way at once (a download counts
	// until its body is read to the end or closed); 0 means no bound.
	InFlight int
	// Cooldown is how long the rate stays shrunk after a rate-limited
	// answer before it doubles back toward Rate (default
	// DefaultBudgetCooldown).
	Cooldown time.Duration
	// OnWait, if set, is called after every request's wait for the budget
	// with how long it waited (0 when it did not wait), for metrics.
	OnWait func(waited time.Duration)

	now func() time.Time // tests
}

// Budget paces a tenant's calls to the open API: at most Rate requests per
// second and InFlight requests at once, shared by every Client given it
// with WithBudget (one Budget per tenant per process). A call waits for
// the budget, honouring its ctx, rather than failing. When the platform
// still answers rate limited (HTTP 429 or code 11990006), the budget
// shrinks for a while: every request pauses until the answer's
// Retry-After, and the rate is halved (down to Rate/64) and grows back by
// doubling once per Cooldown without such answers. A Budget is safe for
// concurrent use; a nil *Budget is no budget at all.
type Budget struct {
	base     rate.Limit
	lim      *rate.Limiter // nil without a rate
	slots    chan struct{} // nil without an in-flight bound
	cooldown time.Duration
	onWait   func(time.Duration)
	now      func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
	halvedAt    time.Time // last halving
	stepAt      time.Time // last halving or doubling
	current     rate.Limit

	inFlight  atomic.Int64
	waited    atomic.Int64 // requests that had to wait
	throttled atomic.Int64 // rate-limited answers seen
}

// NewBudget returns a budget. Errors wrap ErrInvalidOption.
func NewBudget(o BudgetOptions) (*Budget, error) {
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("%w: budget rate must be a finite number >= 0, got %v", ErrInvalidOption, o.Rate)
	}
	if o.Burst < 0 || o.InFlight < 0 || o.Cooldown < 0 {
		return nil, fmt.Errorf("%w: budget burst, in-flight and cooldown must be >= 0", ErrInvalidOption)
	}
	b := &Budget{cooldown: o.Cooldown, onWait: o.OnWait, now: o.now}
	if b.cooldown == 0 {
		b.cooldown = DefaultBudgetCooldown
	}
	if b.now == nil {
		b.now = time.Now
	}
	if o.Rate > 0 {
		burst := max(o.Burst, 1)
		b.base, b.current = rate.Limit(o.Rate), rate.Limit(o.Rate)
		b.lim = rate.NewLimiter(b.base, burst)
	}
	if o.InFlight > 0 {
		b.slots = make(chan struct{}, o.InFlight)
	}
	return b, nil
}

// WithBudget makes the client wait for b before every attempt of every
// call (retries included) and report rate-limited answers to it. Give the
// same Budget to every Client of one tenant in the process. b must not be
// nil.
func WithBudget(b *Budget) Option {
	return func(c *Client) error {
		if b == nil {
			return fmt.Errorf("%w: nil budget", ErrInvalidOption)
		}
		c.budget = b
		return nil
	}
}

// BudgetStats is a snapshot of a budget, for metrics.
type BudgetStats struct {
	// InFlight is the number of requests under way.
	InFlight int
	// Rate is the rate in force (requests/s; 0 without a rate): Rate, or
	// less while shrunk.
	Rate float64
	// Waited counts the requests that had to wait for the budget.
	Waited int64
	// Throttled counts the rate-limited answers reported to the budget.
	Throttled int64
}

// Stats returns the budget's current figures. A nil budget has none.
func (b *Budget) Stats() BudgetStats {
	if b == nil {
		return BudgetStats{}
	}
	b.mu.Lock()
	b.regrowLocked(b.now())
	r := float64(b.current)
	b.mu.Unlock()
	return BudgetStats{InFlight: int(b.inFlight.Load()), Rate: r, Waited: b.waited.Load(), Throttled: b.throttled.Load()}
}

// acquire waits for an in-flight slot, then for a pause to end, then for
// a token. The returned release gives the slot back; it is idempotent.
func (b *Budget) acquire(ctx context.Context) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	start := b.now()
	waited := false
	if b.slots != nil {
		select {
		case b.slots <- struct{}{}:
		default:
			waited = true
			select {
			case b.slots <- struct{}{}:
			case <-ctx.Done():
				b.report(start, true)
				return nil, context.Cause(ctx)
			}
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			b.inFlight.Add(-1)
			if b.slots != nil {
				<-b.slots
			}
		})
	}
	b.inFlight.Add(1)
	for {
		b.mu.Lock()
		pause := b.pausedUntil.Sub(b.now())
		b.regrowLocked(b.now())
		b.mu.Unlock()
		if pause <= 0 {
			break
		}
		waited = true
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			b.report(start, true)
			return nil, context.Cause(ctx)
		}
	}
	if b.lim != nil {
		r := b.lim.Reserve()
		if d := r.Delay(); d > 0 {
			waited = true
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				r.Cancel()
				release()
				b.report(start, true)
				return nil, context.Cause(ctx)
			}
		}
	}
	b.report(start, waited)
	return release, nil
}

func (b *Budget) report(start time.Time, waited bool) {
	var d time.Duration
	if waited {
		b.waited.Add(1)
		d = b.now().Sub(start)
	}
	if b.onWait != nil {
		b.onWait(d)
	}
}

// rateLimited records a rate-limited answer: every request pauses for
// retryAfter (DefaultThrottlePause when there is no rate and no
// Retry-After), and the rate is halved unless it was halved less than a
// second ago.
func (b *Budget) rateLimited(retryAfter time.Duration) {
	if b == nil {
		return
	}
	b.throttled.Add(1)
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	pause := retryAfter
	if pause <= 0 && b.lim == nil {
		pause = DefaultThrottlePause
	}
	if until := now.Add(min(pause, maxThrottlePause)); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
	if b.lim == nil || now.Sub(b.halvedAt) < minShrinkGap {
		return
	}
	b.current = max(b.current/2, b.base/minRateFraction)
	b.lim.SetLimitAt(now, b.current)
	b.halvedAt, b.stepAt = now, now
}

// regrowLocked doubles a shrunk rate back toward the base once per
// cooldown without rate-limited answers.
func (b *Budget) regrowLocked(now time.Time) {
	if b.lim == nil || b.current >= b.base || now.Sub(b.stepAt) < b.cooldown {
		return
	}
	b.current = min(b.current*2, b.base)
	b.lim.SetLimitAt(now, b.current)
	b.stepAt = now
}
