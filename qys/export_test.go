package qys

import "time"

// WithBudgetClock replaces the clock a budget reads (tests only).
func WithBudgetClock(o BudgetOptions, now func() time.Time) BudgetOptions {
	o.now = now
	return o
}

// Send lets one request through b at its clock's now without waiting, as
// acquire does, and reports whether it was admitted.
func Send(b *Budget) (tk *Ticket, ok bool) {
	ok, probe, _, _ := b.admit(b.now())
	if !ok {
		return nil, false
	}
	return &Ticket{t: &ticket{sentAt: b.now(), probe: probe, release: func() {}}, b: b}, true
}

// Ticket is a request Send let through.
type Ticket struct {
	t *ticket
	b *Budget
}

// Answer reports the request's outcome as a Client does.
func (t *Ticket) Answer(err error, retryAfter time.Duration) { t.b.answered(t.t, err, retryAfter) }

// RateLimitedAnswer is an answer "接口调用频繁".
var RateLimitedAnswer error = &APIError{HTTPStatus: 200, Code: CodeRateLimited}

// ReportRateLimited sends a request through b and has it answered rate
// limited (it must be admitted).
func ReportRateLimited(b *Budget, retryAfter time.Duration) {
	if tk, ok := Send(b); ok {
		tk.Answer(RateLimitedAnswer, retryAfter)
	}
}
