package delivery_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestOutageWhileKilled is the ten-minute outage in short: the endpoint
// refuses connections, then answers 500, then hangs, while facts keep
// coming and the delivery stage is stopped twice without settling what
// it holds (as a killed process) and started again; once the endpoint
// answers, every fact arrives, each contract's in sequence (the endpoint
// is ordered), and a fact that arrives twice has the same webhook-id
// (duplicates are retries of one id, which the receiver drops).
func TestOutageWhileKilled(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) { outage(t, kind) })
	}
}

func outage(t *testing.T, kind testdb.Kind) {
	f := newFixture(t, kind)
	s := newSink(t)
	var mode atomic.Int32 // 0 refused (the listener is closed), 1 500, 2 hang, 3 ok
	s.setAnswer(func(*http.Request, int) (int, bool) {
		switch mode.Load() {
		case 1:
			return 500, false
		case 2:
			return 0, true
		}
		return 200, false
	})
	// A stable address that refuses connections while the sink is "down":
	// a proxy that closes what it accepts until the sink is up.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go proxy(ln, s.srv.Listener.Addr().String(), &mode)
	ep := f.endpointFor("ep_out", s, func(e *store.Endpoint) { e.Ordered = true })
	ep.URL = "http://" + ln.Addr().String()
	if err := f.store.SaveEndpoint(t.Context(), *ep); err != nil {
		t.Fatal(err)
	}

	stop := f.start(nil)
	f.waitFanout()
	const contracts = 3
	seq := int64(0)
	publishRound := func() {
		seq++
		for c := range contracts {
			f.publish(fmt.Sprintf("c%d", c), seq, "SIGNING")
		}
	}
	phase := func(m int32) {
		mode.Store(m)
		for range 3 {
			publishRound()
			time.Sleep(150 * time.Millisecond)
		}
	}
	phase(0) // connection refused
	stop()   // killed: nothing settled
	stop = f.start(nil)
	phase(1) // 500
	phase(2) // hanging
	stop()   // killed again, mid-hang
	stop = f.start(nil)
	phase(2)
	mode.Store(3)
	publishRound()
	want := int(seq) * contracts
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if info, err := f.env.JS.Consumer(context.Background(), f.env.Names.DeliveryStream(), f.env.Names.DeliveryDurable("ep_out")); err == nil {
			ci := info.CachedInfo()
			t.Logf("endpoint consumer: pending %d, ack pending %d, redelivered %d, delivered %+v, ack floor %+v",
				ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.Delivered, ci.AckFloor)
		}
		cur, _, _ := f.store.DeliveryCursor(context.Background(), "qyshook_delivery_fanout")
		t.Logf("fan-out cursor %d; delivered %v", cur, ids(s.delivered()))
	})
	waitFor(t, "every fact after the outage", 60*time.Second, func() bool {
		distinct := map[string]bool{}
		for _, r := range s.delivered() {
			distinct[r.ID] = true
		}
		return len(distinct) == want
	})
	stop()
	got := s.delivered()
	checkOrder(t, got)
	n := map[string]int{}
	for _, r := range got {
		n[r.ID]++
	}
	var twice []string
	for id, c := range n {
		if c > 1 {
			twice = append(twice, id)
		}
	}
	sort.Strings(twice)
	t.Logf("%d facts delivered after the outage; %d delivered more than once (same webhook-id): %v", want, len(twice), twice)
}

// proxy forwards connections to target while mode is not 0, and closes
// them at once (connection refused, in effect) while it is.
func proxy(ln net.Listener, target string, mode *atomic.Int32) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if mode.Load() == 0 {
			c.Close()
			continue
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = copyConn(u, c); done <- struct{}{} }()
			go func() { _, _ = copyConn(c, u); done <- struct{}{} }()
			<-done
		}()
	}
}
