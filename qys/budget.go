package qys

import (
	"context"
	"errors"
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
	// DefaultThrottlePause is the window a rate-limited answer without
	// Retry-After opens: the tenant's calls wait for it to end, then one
	// call (a probe) asks the platform again.
	DefaultThrottlePause = time.Second
	// MaxThrottlePause caps one window, Retry-After included: a probe
	// asks again at least this often, so the calls resume within it of
	// the platform answering again.
	MaxThrottlePause = 4 * time.Second
	// minShrinkGap: rate-limited episodes closer together than this halve
	// the rate once.
	minShrinkGap = time.Second
	// minRateFraction bounds the shrinking: the rate never falls below
	// base/64.
	minRateFraction = 64
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
	// Pause is the window a rate-limited answer without Retry-After opens
	// (default DefaultThrottlePause; at most MaxThrottlePause).
	Pause time.Duration
	// OnWait, if set, is called after every request's wait for the budget
	// with how long it waited (0 when it did not wait), for metrics.
	OnWait func(waited time.Duration)

	now func() time.Time // tests
}

// Budget paces a tenant's calls to the open API: at most Rate requests per
// second and InFlight requests at once, shared by every Client given it
// with WithBudget (one Budget per tenant per process). A call waits for
// the budget, honouring its ctx, rather than failing.
//
// When the platform answers rate limited (HTTP 429 or code 11990006) an
// episode begins: the tenant's calls wait for a window (the answer's
// Retry-After, else Pause; at most MaxThrottlePause), then
// one call, a probe, asks the platform again while the others keep
// waiting. A refused probe opens the next window; an answer that is not
// rate limited to any request sent during the episode ends it at once and
// every waiting call goes. Refusals of requests already under way when the
// episode began open no window of their own, so a burst of refusals costs
// one window, not one per answer. An episode that ended with its first
// probe (the platform refused a moment's burst: our rate is likely above
// its limit) halves the rate, down to Rate/64, which doubles back once
// per Cooldown; a longer one (the platform refused even one request per
// window: not our rate's doing) leaves the rate as it was. A Budget is
// safe for concurrent use; a nil *Budget is no budget at all.
type Budget struct {
	base     rate.Limit
	lim      *rate.Limiter // nil without a rate
	slots    chan struct{} // nil without an in-flight bound
	cooldown time.Duration
	pause    time.Duration
	onWait   func(time.Duration)
	now      func() time.Time

	mu          sync.Mutex
	limited     bool          // in an episode
	episodeAt   time.Time     // when it began
	windows     int           // windows opened in it
	pausedUntil time.Time     // end of the current window
	probing     bool          // a probe is under way
	wake        chan struct{} // closed (and replaced) when an episode begins or ends or a probe returns
	halvedAt    time.Time     // last halving
	stepAt      time.Time     // last halving or doubling
	current     rate.Limit

	inFlight  atomic.Int64
	waited    atomic.Int64 // requests that had to wait
	throttled atomic.Int64 // rate-limited answers seen
	episodes  atomic.Int64 // episodes begun
}

// NewBudget returns a budget. Errors wrap ErrInvalidOption.
func NewBudget(o BudgetOptions) (*Budget, error) {
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("%w: budget rate must be a finite number >= 0, got %v", ErrInvalidOption, o.Rate)
	}
	if o.Burst < 0 || o.InFlight < 0 || o.Cooldown < 0 || o.Pause < 0 || o.Pause > MaxThrottlePause {
		return nil, fmt.Errorf("%w: budget burst, in-flight and cooldown must be >= 0, pause 0..%s", ErrInvalidOption, MaxThrottlePause)
	}
	b := &Budget{cooldown: o.Cooldown, pause: o.Pause, onWait: o.OnWait, now: o.now, wake: make(chan struct{})}
	if b.pause == 0 {
		b.pause = DefaultThrottlePause
	}
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
	// Episodes counts the rate-limited episodes begun.
	Episodes int64
	// Limited reports an episode under way: calls wait, one probe at a
	// time asks the platform.
	Limited bool
	// Pause is what is left of the current window (0 outside one).
	Pause time.Duration
}

// Stats returns the budget's current figures. A nil budget has none.
func (b *Budget) Stats() BudgetStats {
	if b == nil {
		return BudgetStats{}
	}
	b.mu.Lock()
	now := b.now()
	b.regrowLocked(now)
	r := float64(b.current)
	limited, pause := b.limited, max(b.pausedUntil.Sub(now), 0)
	if !limited {
		pause = 0
	}
	b.mu.Unlock()
	return BudgetStats{InFlight: int(b.inFlight.Load()), Rate: r, Waited: b.waited.Load(),
		Throttled: b.throttled.Load(), Episodes: b.episodes.Load(), Limited: limited, Pause: pause}
}

// ticket is one request's place in the budget: when it was let through,
// whether it is an episode's probe, and the release of its in-flight slot.
type ticket struct {
	sentAt  time.Time
	probe   bool
	release func()
}

// admit decides at now whether a request may go: outside an episode
// always; in one only as the probe, once the window has ended and no
// other probe is under way. Otherwise it returns how long the window
// still runs (0 while another probe is under way) and the channel closed
// when the state changes.
func (b *Budget) admit(now time.Time) (ok, probe bool, pause time.Duration, wake <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.regrowLocked(now)
	if !b.limited {
		return true, false, 0, nil
	}
	if pause = b.pausedUntil.Sub(now); pause <= 0 && !b.probing {
		b.probing = true
		return true, true, 0, nil
	}
	return false, false, max(pause, 0), b.wake
}

// acquire waits for an in-flight slot, then for the budget to admit the
// request (see admit), then for a token. The ticket's release gives the
// slot back; it is idempotent. Every ticket must be reported to answered.
// A stop channel set on ctx (StopBudgetWaits) ends the waits too.
func (b *Budget) acquire(ctx context.Context) (*ticket, error) {
	if b == nil {
		return &ticket{release: func() {}}, nil
	}
	stop := stopOf(ctx)
	start := b.now()
	waited, err := b.takeSlot(ctx, stop)
	if err != nil {
		b.report(start, true)
		return nil, err
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			b.inFlight.Add(-1)
			if b.slots != nil {
				<-b.slots
			}
		})
	}
	b.inFlight.Add(1)
	for {
		probe, waitedAdmit, err := b.waitAdmitted(ctx, stop)
		waited = waited || waitedAdmit
		if err != nil {
			release()
			b.report(start, true)
			return nil, err
		}
		tk := &ticket{probe: probe, release: release}
		waitedToken, again, err := b.waitToken(ctx, stop, tk)
		waited = waited || waitedToken
		if err != nil {
			b.answered(tk, err, 0) // a probe that never went frees its place
			release()
			b.report(start, true)
			return nil, err
		}
		if again {
			// An episode began while it waited for its token: it waits
			// for admission again, like every request arriving now.
			waited = true
			continue
		}
		b.report(start, waited)
		return tk, nil
	}
}

// takeSlot waits for an in-flight slot (when the budget bounds them) and
// reports whether it had to wait.
func (b *Budget) takeSlot(ctx context.Context, stop <-chan struct{}) (bool, error) {
	if b.slots == nil {
		return false, nil
	}
	select {
	case b.slots <- struct{}{}:
		return false, nil
	default:
	}
	select {
	case b.slots <- struct{}{}:
		return true, nil
	case <-ctx.Done():
		return true, context.Cause(ctx)
	case <-stop:
		return true, ErrBudgetStopped
	}
}

// waitAdmitted waits until admit lets the request go, and reports whether
// it goes as the spell's probe and whether it had to wait.
func (b *Budget) waitAdmitted(ctx context.Context, stop <-chan struct{}) (probe, waited bool, err error) {
	for {
		ok, p, pause, wake := b.admit(b.now())
		if ok {
			return p, waited, nil
		}
		waited = true
		var tc <-chan time.Time
		var t *time.Timer
		if pause > 0 {
			t = time.NewTimer(pause)
			tc = t.C
		}
		select {
		case <-tc:
		case <-wake:
		case <-ctx.Done():
			err = context.Cause(ctx)
		case <-stop:
			err = ErrBudgetStopped
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return false, true, err
		}
	}
}

// waitToken waits for the rate limiter's token (when the budget has a
// rate) and reports whether it had to wait. A request admitted outside an
// episode (not the probe) must not go in one: if an episode begins while
// it waits (answered closes wake), or has begun when its token comes, its
// reservation is cancelled and it reports again, to wait for admission
// once more. Otherwise it sets tk.sentAt, under the lock answered takes,
// so an answer compares it with the episode's start consistently.
func (b *Budget) waitToken(ctx context.Context, stop <-chan struct{}, tk *ticket) (waited, again bool, err error) {
	var r *rate.Reservation
	var d time.Duration
	if b.lim != nil {
		r = b.lim.Reserve()
		d = r.Delay()
	}
	for {
		b.mu.Lock()
		if b.limited && !tk.probe {
			b.mu.Unlock()
			if r != nil {
				r.Cancel() // gives the token back if it is still to come
			}
			return waited, true, nil
		}
		if d <= 0 {
			tk.sentAt = b.now()
			b.mu.Unlock()
			return waited, false, nil
		}
		wake := b.wake
		b.mu.Unlock()
		if tk.probe {
			wake = nil // the probe goes in the episode; nothing to re-check
		}
		waited = true
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-wake:
		case <-ctx.Done():
			err = context.Cause(ctx)
		case <-stop:
			err = ErrBudgetStopped
		}
		t.Stop()
		if err != nil {
			r.Cancel()
			return true, false, err
		}
		d = r.DelayFrom(time.Now())
	}
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

// answered records the outcome of the request tk let through: err nil or
// an *APIError is an answer from the platform; retryAfter is the answer's
// Retry-After. See Budget for what it does.
func (b *Budget) answered(tk *ticket, err error, retryAfter time.Duration) {
	if b == nil || tk == nil {
		return
	}
	limited := errors.Is(err, ErrRateLimited)
	var ae *APIError
	answer := err == nil || errors.As(err, &ae)
	if limited {
		b.throttled.Add(1)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now() // under the lock, as sentAt is taken: the two compare
	changed := false
	if tk.probe {
		b.probing, changed = false, true
	}
	switch {
	case limited && !b.limited:
		b.limited, b.episodeAt, b.windows = true, now, 1
		b.pausedUntil = now.Add(b.window(retryAfter))
		b.episodes.Add(1)
		changed = true // requests waiting for their token wait for admission again
	case limited && tk.probe:
		b.windows++
		b.pausedUntil = now.Add(b.window(retryAfter))
	case limited:
		// Under way when the episode began: its window is open already.
	case answer && b.limited && (tk.probe || !tk.sentAt.Before(b.episodeAt)):
		if b.windows == 1 {
			b.shrinkLocked(now)
		}
		b.limited, b.pausedUntil, changed = false, time.Time{}, true
	}
	if changed {
		close(b.wake)
		b.wake = make(chan struct{})
	}
}

// window is the pause a rate-limited answer opens.
func (b *Budget) window(retryAfter time.Duration) time.Duration {
	if retryAfter <= 0 {
		return b.pause
	}
	return min(retryAfter, MaxThrottlePause)
}

// shrinkLocked halves the rate, unless it was halved less than a second
// ago.
func (b *Budget) shrinkLocked(now time.Time) {
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
	if b.lim == nil || b.limited || b.current >= b.base || now.Sub(b.stepAt) < b.cooldown {
		return
	}
	b.current = min(b.current*2, b.base)
	b.lim.SetLimitAt(now, b.current)
	b.stepAt = now
}

// StopBudgetWaits returns a ctx whose calls stop waiting for their budget
// when stop is closed (failing with ErrBudgetWait and ErrBudgetStopped)
// while the ctx itself lives on: a stopping dispatcher lets the requests
// under way finish but gives up those still waiting out a rate-limited
// episode. Requests already sent are not affected.
func StopBudgetWaits(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

type stopKey struct{}

func stopOf(ctx context.Context) <-chan struct{} {
	stop, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return stop
}
