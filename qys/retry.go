package qys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/qyshook/qyshook/backoff"
)

// attempt is one try of a call. It reports whether a failure may be
// retried and, when the platform said so, how long to wait first. The
// attempt holds p, its share of the budget, which is given back when it
// returns unless it calls p.keep (a download whose body still streams).
type attempt func(ctx context.Context, p *permit) (retry bool, after time.Duration, err error)

// permit is an attempt's place in the budget's in-flight bound.
type permit struct {
	release func()
	kept    bool
}

// keep hands the release to the caller, who must call it.
func (p *permit) keep() func() {
	p.kept = true
	return p.release
}

// withRetries runs try until it succeeds, fails permanently, the retries
// are spent or ctx ends. Each attempt first waits for the client's budget;
// a rate-limited answer is reported to it. Waits honour ctx.
func (c *Client) withRetries(ctx context.Context, path string, try attempt) error {
	for n := 0; ; n++ {
		tk, berr := c.budget.acquire(ctx)
		if berr != nil {
			return fmt.Errorf("qys: %s: %w: %w", path, ErrBudgetWait, berr)
		}
		p := &permit{release: tk.release}
		retry, after, err := try(ctx, p)
		if !p.kept {
			tk.release()
		}
		c.budget.answered(tk, err, after)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return fmt.Errorf("qys: %s: %w; last error: %w", path, ctx.Err(), err)
		}
		if !retry || n >= c.retries || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(c.backoff(n, after))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("qys: %s: %w while waiting to retry; last error: %w", path, ctx.Err(), err)
		case <-stopOf(ctx):
			t.Stop()
			return fmt.Errorf("qys: %s: %w: %w while waiting to retry; last error: %w", path, ErrBudgetWait, ErrBudgetStopped, err)
		case <-t.C:
		}
	}
}

// backoff returns the wait before retry n+1: full jitter over
// min(max, base·2ⁿ), or Retry-After capped at max when the server sent one.
func (c *Client) backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.backoffMax)
	}
	return backoff.Jitter(backoff.Exponential(c.backoffBase, c.backoffMax, n), 0)
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date,
// capped at a day.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	return backoff.RetryAfter(h.Get("Retry-After"), now, 24*time.Hour)
}

// retryable reports whether err, returned by an attempt under ctx, may be
// retried: temporary API errors, and transport errors (timeouts included)
// while ctx itself is still alive.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	return true
}
