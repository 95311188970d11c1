package dispatcher_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
)

// TestRateLimitedNeverDeadLetters: an event whose detail fetch keeps
// meeting "rate limited" (11990006) for more deliveries than MaxDeliver is
// delivered again and again, never dead-lettered, and applies once the
// platform lets it through. Before, the tenth rate-limited answer made it
// retries_exhausted:api_error.
func TestRateLimitedNeverDeadLetters(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	h.cfg.MaxDeliver = 2
	id := h.addContract(qys.StatusSigning)
	h.fake.RateLimitNext(4 * 4) // four deliveries of 1+3 attempts: past MaxDeliver
	h.publishContract(id, "SEND_SIGNING", qys.StatusSigning)
	h.start()
	ctx := context.Background()
	eventually(t, "applied after the rate limiting", func() bool {
		c := h.contract(id)
		return c != nil && c.Confirmed
	})
	if rows, _ := h.ledger.DeadLetters(ctx, 0); len(rows) != 0 {
		t.Fatalf("%d dead letters, want 0: %+v", len(rows), rows)
	}
	if n := len(h.streamMessages(h.nats.Names.DLQStream())); n != 0 {
		t.Fatalf("%d messages in QYS_DLQ, want 0", n)
	}
}
