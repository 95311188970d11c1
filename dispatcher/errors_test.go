package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		permanent bool
		reason    string
	}{
		{"Undecodable", fmt.Errorf("x: %w", events.ErrInvalidEnvelope), true, reasonUndecodable},
		{"ContractNotFound", &qys.APIError{Code: qys.CodeContractNotFound}, true, reasonUnknownContract},
		{"HTTP404", &qys.APIError{HTTPStatus: 404}, true, reasonUnknownContract},
		{"RateLimited", &qys.APIError{Code: qys.CodeRateLimited}, false, reasonRateLimited},
		{"HTTP429", &qys.APIError{HTTPStatus: 429}, false, reasonRateLimited},
		{"BudgetWait", fmt.Errorf("qys: x: %w: %w", qys.ErrBudgetWait, context.DeadlineExceeded), false, reasonRateLimited},
		{"Server5xx", &qys.APIError{HTTPStatus: 503}, false, reasonAPI},
		{"Truncated", fmt.Errorf("dl: %w", qys.ErrTruncated), false, reasonAPI},
		{"Timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), false, reasonTimeout},
		{"DatabaseBusy", fmt.Errorf("x: %w", store.ErrTransient), false, reasonStore},
		{"Explicit", permanent("custom", errors.New("boom")), true, "custom"},
		{"Unknown", errors.New("something"), false, "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, r := classify(tc.err)
			if p != tc.permanent || r != tc.reason {
				t.Fatalf("classify(%v) = %v, %q; want %v, %q", tc.err, p, r, tc.permanent, tc.reason)
			}
		})
	}
}

func TestBackoffBoundedAndGrowing(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}
	for n := uint64(1); n <= 20; n++ {
		for i := 0; i < 50; i++ {
			d := b.Delay(n)
			if d < b.Base/2 || d > b.Max {
				t.Fatalf("Delay(%d) = %v outside [%v, %v]", n, d, b.Base/2, b.Max)
			}
		}
	}
	// Late attempts reach beyond the first attempt's ceiling: the
	// exponential part grows (checked on the maximum of many draws).
	var maxLate time.Duration
	for i := 0; i < 200; i++ {
		maxLate = max(maxLate, b.Delay(10))
	}
	if maxLate <= b.Base {
		t.Fatalf("max Delay(10) over 200 draws = %v, want > %v", maxLate, b.Base)
	}
}
