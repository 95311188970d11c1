package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
)

// TestFailingSetByAnotherProcessIsCleared: two stages on one ledger, both
// running the endpoint while it is healthy. Another process records a
// failure (failing_since set, as a stage whose attempt failed does); the
// next successes must clear it, whichever stage makes them. Before, each
// runner read failing_since once at start and never again, so neither
// cleared it and the endpoint went on towards its auto-disable while
// every attempt succeeded.
func TestFailingSetByAnotherProcessIsCleared(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	sk := newSink(t)
	f.endpointFor("ep", sk, nil)
	f.start(nil)
	f.start(nil)
	f.waitFanout()
	f.publish("c1", 1, "SIGNING")
	waitFor(t, "the first delivery", 20*time.Second, func() bool { return len(sk.delivered()) >= 1 })
	ctx := context.Background()
	if ep, err := f.store.RecordEndpointOutcome(ctx, "ep", false, time.Now().Add(-time.Hour)); err != nil || ep.FailingSince == nil {
		t.Fatalf("record a failure: %+v %v", ep, err)
	}
	seq := int64(2)
	waitFor(t, "failing_since cleared by a success", 30*time.Second, func() bool {
		f.publish("c1", seq, "SIGNING")
		seq++
		time.Sleep(100 * time.Millisecond)
		ep, err := f.store.Endpoint(ctx, "ep")
		return err == nil && ep.FailingSince == nil
	})
}
