package delivery_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestRestartsWithoutAttemptKeepTheSchedule: a delivery handed to a
// process that stops before it attempts it (here: shut down while it waits
// for the endpoint's rate limit) is handed out again, but no attempt was
// made, so its place on the retry schedule must not move. The endpoint
// answers 500 and allows one request per minute; after each failed attempt
// the stage is stopped while the retry waits for the rate limit, and a new
// one started. With a schedule of 3 retries, the dead letter comes after 4
// attempts, however many times it was handed out. Before, the attempt
// number was the message's delivery count: 3 requests, and the dead letter
// said 5 attempts.
func TestRestartsWithoutAttemptKeepTheSchedule(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	sk := newSink(t)
	sk.setAnswer(func(*http.Request, int) (int, bool) { return 500, false })
	f.endpointFor("ep", sk, func(e *store.Endpoint) { e.RateLimit = 1.0 / 60; e.Concurrency = 1 })
	mod := func(o *delivery.Options) {
		o.Schedule = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
		o.Jitter = -1
	}
	stop := f.start(mod)
	f.waitFanout()
	f.publish("c1", 1, "SIGNING")
	ctx := context.Background()
	dead := func() []store.EndpointDeadLetter {
		dls, _ := f.store.EndpointDeadLetters(ctx, "ep", 0)
		return dls
	}
	for cycle := 1; len(dead()) == 0; cycle++ {
		if cycle > 8 {
			t.Fatalf("no dead letter after %d requests", len(sk.received()))
		}
		waitFor(t, "an attempt", 20*time.Second, func() bool { return len(sk.received()) >= cycle || len(dead()) > 0 })
		// The retry comes 50 ms later and waits a minute for the rate
		// limit: stop there, before it is attempted.
		time.Sleep(500 * time.Millisecond)
		if len(dead()) > 0 {
			break
		}
		stop()
		stop = f.start(mod)
	}
	dls := dead()
	if n := len(sk.received()); n != 4 || dls[0].Attempts != 4 {
		t.Fatalf("%d requests, dead letter after %d attempts; want 4 and 4 (1 + the schedule's 3)", n, dls[0].Attempts)
	}
	atts, err := f.store.EndpointAttempts(ctx, store.EndpointAttemptFilter{EndpointID: "ep"})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range atts { // newest first
		if a.Attempt != len(atts)-i {
			t.Fatalf("attempt numbers %+v", atts)
		}
	}
}
