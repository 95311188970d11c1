package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/qyshook/qyshook/store/ledgerdb"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

// DeliveryOptions size `qyshook bench delivery`.
type DeliveryOptions struct {
	// Facts is how many facts each delivery round publishes.
	Facts int
	// Concurrency is the endpoint's deliveries in flight, and the raw
	// client's requests in flight.
	Concurrency int
	// Rounds interleaves raw and delivery rounds; medians are reported.
	Rounds int
}

// DeliveryResult is the delivery stage's rate to a local no-op endpoint as
// a ratio to the raw HTTP client's rate to the same endpoint, measured in
// the same run.
type DeliveryResult struct {
	Facts, Concurrency, Rounds int
	Raw, Delivered             []float64 // requests per second, per round
	// RawCPU and DeliveredCPU are the process's CPU time (user and
	// system, every goroutine: the no-op endpoint and JetStream included)
	// per request and per fact delivered, per round: on a machine shared
	// with other work they vary less than the rates.
	RawCPU, DeliveredCPU []time.Duration
}

// String prints the rounds and the median ratio.
func (r *DeliveryResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "delivery to a local no-op endpoint, %d facts per round, concurrency %d, SQLite ledger, embedded JetStream\n", r.Facts, r.Concurrency)
	for i := range r.Raw {
		fmt.Fprintf(&b, "  round %d: raw HTTP client %.0f/s, delivery stage %.0f/s, ratio %.3f; CPU %.1f µs/request, %.1f µs/fact\n", i+1,
			r.Raw[i], r.Delivered[i], r.Delivered[i]/r.Raw[i], micros(r.RawCPU[i]), micros(r.DeliveredCPU[i]))
	}
	rawCPU, delCPU := medianDuration(r.RawCPU), medianDuration(r.DeliveredCPU)
	fmt.Fprintf(&b, "median CPU: raw %.1f µs/request, delivered %.1f µs/fact, ratio %.3f\n", micros(rawCPU), micros(delCPU), float64(rawCPU)/float64(delCPU))
	fmt.Fprintf(&b, "median: raw %.0f/s, delivered %.0f/s, ratio %.3f\n", median(r.Raw), median(r.Delivered), median(r.Delivered)/median(r.Raw))
	return b.String()
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func medianDuration(v []time.Duration) time.Duration {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d)
	}
	return time.Duration(median(f))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// noop is the local endpoint: it reads the body and answers 204.
type noop struct {
	got atomic.Int64
	srv *http.Server
	url string
}

func newNoop() (*noop, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &noop{url: "http://" + ln.Addr().String() + "/hook"}
	n.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		n.got.Add(1)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = n.srv.Serve(ln) }()
	return n, nil
}

// RunDelivery measures, in interleaved rounds, the raw HTTP client's rate
// of signed POSTs to a local no-op endpoint and the delivery stage's rate
// of facts from QYS_LEDGER to the same endpoint.
func RunDelivery(ctx context.Context, o DeliveryOptions) (*DeliveryResult, error) {
	if o.Facts <= 0 || o.Concurrency <= 0 || o.Rounds <= 0 {
		return nil, fmt.Errorf("bench: facts, concurrency and rounds must be positive")
	}
	dir, cleanup, err := benchDir("")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	ep, err := newNoop()
	if err != nil {
		return nil, err
	}
	defer ep.srv.Close()
	conn, names, err := benchNATS(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	l, _, closeLedger, _, err := benchLedger(ctx, "sqlite", dir, ledgerdb.Options{})
	if err != nil {
		return nil, err
	}
	defer closeLedger()
	es, ok := l.(store.EndpointStore)
	if !ok {
		return nil, fmt.Errorf("bench: the ledger keeps no endpoints")
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if err := es.SaveEndpoint(ctx, store.Endpoint{ID: "ep_bench", Tenant: "default", URL: ep.url,
		Secrets: []store.EndpointSecret{{Secret: secret, CreatedAt: now}}, Concurrency: o.Concurrency,
		AllowPrivate: true, AllowHTTP: true, Enabled: true, CreatedAt: now.Add(-time.Minute)}); err != nil {
		return nil, err
	}
	st, err := delivery.New(delivery.Options{JS: conn.JS, Names: names, Store: es, Logger: zerolog.Nop(), Refresh: 100 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Run(sctx) }()
	defer func() { stop(); <-done }()
	for {
		if _, ok, err := es.DeliveryCursor(ctx, events.DurableDeliveryFanout); err != nil {
			return nil, err
		} else if ok {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	body := sampleFact("f-sample")
	res := &DeliveryResult{Facts: o.Facts, Concurrency: o.Concurrency, Rounds: o.Rounds}
	for round := range o.Rounds {
		cpu := ProcessCPU()
		raw, err := rawRate(ctx, ep.url, secret, body, o.Facts, o.Concurrency)
		if err != nil {
			return nil, err
		}
		rawCPU := (ProcessCPU() - cpu) / time.Duration(o.Facts)
		cpu = ProcessCPU()
		got, err := deliveryRate(ctx, conn.JS, names, ep, o.Facts, round)
		if err != nil {
			return nil, err
		}
		res.RawCPU, res.DeliveredCPU = append(res.RawCPU, rawCPU), append(res.DeliveredCPU, (ProcessCPU()-cpu)/time.Duration(o.Facts))
		res.Raw, res.Delivered = append(res.Raw, raw), append(res.Delivered, got)
	}
	return res, nil
}

func sampleFact(id string) []byte {
	b, _ := json.Marshal(events.Fact{Schema: events.SchemaLedgerV1, ID: id, Tenant: "default", Kind: events.FactContractStatus,
		ContractID: "2000000000000000001", Seq: 3, BizID: "HT-2026-0001", Status: "COMPLETE", PreviousStatus: "SIGNING",
		Confirmed: true, Source: "callback", OccurredAt: time.Now().UTC()})
	return b
}

// rawRate sends n signed POSTs with c workers over one keep-alive client,
// as the delivery stage's sender does, and returns requests per second.
func rawRate(ctx context.Context, url, secret string, body []byte, n, c int) (float64, error) {
	s := webhook.NewSender(15*time.Second, true)
	defer s.Close()
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if r := s.Send(ctx, webhook.Message{URL: url, Secrets: []string{secret}, ID: "raw", Body: body}); !r.OK() {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("bench: %d raw requests failed", f)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// publishWindow bounds the bench's facts awaiting their PubAck.
const publishWindow = 1024

// deliveryRate publishes n facts to QYS_LEDGER and returns facts per
// second from the first publish to the n-th arrival at the endpoint.
func deliveryRate(ctx context.Context, js jetstream.JetStream, names events.Names, ep *noop, n, round int) (float64, error) {
	base := ep.got.Load()
	start := time.Now()
	subj := names.LedgerContractSubject("default", "COMPLETE")
	futs := make([]jetstream.PubAckFuture, 0, n)
	acked := 0
	for i := range n {
		if len(futs)-acked >= publishWindow { // the connection's bound is shared with the stage
			if err := awaitAcks(ctx, futs[acked:acked+1]); err != nil {
				return 0, err
			}
			acked++
		}
		id := fmt.Sprintf("bench-%d-%d", round, i)
		f, err := js.PublishAsync(subj, sampleFact(id), jetstream.WithMsgID(id))
		if err != nil {
			return 0, err
		}
		futs = append(futs, f)
	}
	if err := awaitAcks(ctx, futs[acked:]); err != nil {
		return 0, err
	}
	for ep.got.Load()-base < int64(n) {
		if time.Since(start) > 10*time.Minute {
			return 0, fmt.Errorf("bench: %d of %d facts delivered after 10 minutes", ep.got.Load()-base, n)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
