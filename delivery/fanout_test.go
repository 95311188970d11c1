package delivery_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/internal/testdb"
)

// TestFanoutReadsWithOneConsumer: the fan-out reads QYS_LEDGER through
// one consumer however many batches it queues (an ordered consumer's
// Fetch makes a new server-side consumer each call, two per batch, each
// counting the stream's pending messages: most of the fan-out's cost).
func TestFanoutReadsWithOneConsumer(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	s := newSink(t)
	f.endpointFor("ep_one", s, nil)
	var created atomic.Int64
	sub, err := f.env.NC.Subscribe(fmt.Sprintf("$JS.EVENT.ADVISORY.CONSUMER.CREATED.%s.>", f.env.Names.LedgerStream()),
		func(*nats.Msg) { created.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	f.start(func(o *delivery.Options) { o.FanoutBatch = 2 })
	f.waitFanout()
	const facts = 12
	for i := range facts {
		f.publish("c1", int64(i+1), "SIGNING")
		time.Sleep(20 * time.Millisecond) // a batch each, or nearly
	}
	waitFor(t, "every fact delivered", 30*time.Second, func() bool { return len(s.delivered()) >= facts })
	if err := f.env.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := created.Load(); n > 2 {
		t.Fatalf("the fan-out made %d consumers on %s for %d facts; want one (two if it started again)", n, f.env.Names.LedgerStream(), facts)
	}
}
