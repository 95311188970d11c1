package qys

import "time"

// WithBudgetClock replaces the clock a budget reads (tests only).
func WithBudgetClock(o BudgetOptions, now func() time.Time) BudgetOptions {
	o.now = now
	return o
}

// ReportRateLimited tells b of a rate-limited answer, as a Client does.
func ReportRateLimited(b *Budget, retryAfter time.Duration) { b.rateLimited(retryAfter) }
