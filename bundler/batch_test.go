package bundler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestFullBatchPassesAgain: a pass that built a full batch is followed by
// the next one at once, not an interval later, so a thousand contracts
// ending together do not wait ten intervals for their bundles. With an
// hour's interval and a batch of two, Run builds all seven well within
// the test's patience; before, it built two and slept for the hour.
func TestFullBatchPassesAgain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := testdb.Open(t, testdb.SQLite)
	for i := range 7 {
		applyEnded(t, l, fmt.Sprintf("c%d", i), "REJECTED")
	}
	keys := signHead(t, l, time.Now())
	b, err := New(Options{Ledger: l.(Ledger), DataDir: t.TempDir(), Signer: keys.Signer(), VerifierKey: keys.VerifierKey(),
		Batch: 2, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	deadline := time.Now().Add(time.Minute)
	for {
		due, err := l.(store.EvidenceStore).EvidenceDue(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d contracts still due a minute into an hour's interval: the stage waits between full batches", len(due))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
}
