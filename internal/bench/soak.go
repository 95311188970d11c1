package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys/qystest"
)

// Defaults for SoakOptions.
const (
	DefaultSoakDuration = 10 * time.Minute
	DefaultSoakInterval = 10 * time.Second
	DefaultSoakWorkers  = 16
)

// SoakOptions configures RunSoak.
type SoakOptions struct {
	// Duration is how long the load runs (default 10 min).
	Duration time.Duration
	// Interval is how often a line is reported (default 10 s).
	Interval time.Duration
	// Workers is how many contract lifecycles are played at once, each
	// waiting for its callback's answer before the next (default 16).
	Workers int
	// Rate, when positive, caps the lifecycles started per second;
	// zero plays them as fast as they are answered.
	Rate int
	// DB is the ledger: "" or "sqlite", or a postgres:// URL (a fresh
	// schema, dropped afterwards).
	DB string
	// SyncInterval, when positive, is QYSHOOK_NATS_SYNC; zero (the
	// default, as in production) syncs every write.
	SyncInterval time.Duration
	// Dir is the data dir (default: a temporary directory, removed).
	Dir string
	// CheckpointInterval is QYSHOOK_LOG_CHECKPOINT_INTERVAL (0: its
	// default); the checkpoints are anchored by the fake's authority.
	CheckpointInterval time.Duration
	// Out receives a line per interval (nil: none).
	Out io.Writer
}

// SoakInterval is one reported interval.
type SoakInterval struct {
	At              time.Duration // since the start, at the interval's end
	AcceptedPerSec  float64
	Errors          int
	P50, P99        time.Duration // answer latency
	LagP50, LagP99  time.Duration // callback answered → its ledger fact
	FactsPerSec     float64
	AppliedPerSec   float64
	RSS             uint64
	StreamDiskBytes int64
	LedgerDiskBytes int64
}

// SoakResult is the outcome of RunSoak.
type SoakResult struct {
	DB, Sync                  string
	Duration                  time.Duration
	Lifecycles                int
	Accepted, Errors          int
	AcceptedPerSec            float64
	P50, P99                  time.Duration
	LagP50, LagP99, LagMax    time.Duration
	LagSamples                int
	Facts                     int
	DLQ                       uint64
	CaughtUp                  time.Duration // after the load stopped, until nothing was left to apply
	RSSStart, RSSPeak, RSSEnd uint64
	StreamDisk, LedgerDisk    int64
	Intervals                 []SoakInterval
	// Checkpoints are the receipt log's checkpoints signed during the load.
	Checkpoints CheckpointAges
}

// String is the summary.
func (r *SoakResult) String() string {
	return fmt.Sprintf("soak (%s, sync %s) for %v: %d lifecycles, %d callbacks accepted (%.0f/s), %d errors; answer p50 %s p99 %s; "+
		"callback→fact lag p50 %s p99 %s max %s (%d facts, %d lag samples); caught up %v after the load; DLQ %d; "+
		"RSS %s at start, peak %s, %s at end; disk: stream %s, ledger %s",
		r.DB, r.Sync, r.Duration.Round(time.Second), r.Lifecycles, r.Accepted, r.AcceptedPerSec, r.Errors, ms(r.P50), ms(r.P99),
		ms(r.LagP50), ms(r.LagP99), ms(r.LagMax), r.Facts, r.LagSamples, r.CaughtUp.Round(10*time.Millisecond), r.DLQ,
		mib(float64(r.RSSStart)), mib(float64(r.RSSPeak)), mib(float64(r.RSSEnd)), mib(float64(r.StreamDisk)), mib(float64(r.LedgerDisk))) +
		"\n" + r.Checkpoints.String()
}

// soakColumns lays out the interval lines (fixed widths: they are
// printed one at a time).
const soakColumns = "%-7v %10s %6s %10s %10s %10s %10s %8s %9s %10s %11s %11s\n"

// SoakHeader heads the interval lines.
var SoakHeader = fmt.Sprintf(soakColumns, "TIME", "ACCEPTED/S", "ERRORS", "P50", "P99", "LAG_P50", "LAG_P99",
	"FACTS/S", "APPLIED/S", "RSS", "STREAM_DISK", "LEDGER_DISK")

func (iv SoakInterval) line(w io.Writer) {
	fmt.Fprintf(w, soakColumns, iv.At.Round(time.Second), fmt.Sprintf("%.0f", iv.AcceptedPerSec),
		strconv.Itoa(iv.Errors), ms(iv.P50), ms(iv.P99), ms(iv.LagP50), ms(iv.LagP99), fmt.Sprintf("%.0f", iv.FactsPerSec),
		fmt.Sprintf("%.0f", iv.AppliedPerSec), mib(float64(iv.RSS)), mib(float64(iv.StreamDiskBytes)), mib(float64(iv.LedgerDiskBytes)))
}

// soakRecorder collects answers and facts.
type soakRecorder struct {
	mu       sync.Mutex
	accepted int
	errors   int
	facts    int
	lat      []time.Duration // this interval
	lag      []time.Duration // this interval
	allLat   []time.Duration
	allLag   []time.Duration
	// waiting holds, per contract or certification, when the oldest
	// callback answered since its last fact was answered.
	waiting map[string]time.Time
}

func (r *soakRecorder) answered(subject string, latency time.Duration, ok bool) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		r.errors++
		return
	}
	r.accepted++
	r.lat = append(r.lat, latency)
	if _, ok := r.waiting[subject]; !ok {
		r.waiting[subject] = now
	}
}

// fact takes a ledger fact: its lag is from the oldest callback of its
// contract (or certification) answered since the previous fact. A
// documents-archived fact ends the wait without a sample: it follows the
// archive, not a callback.
func (r *soakRecorder) fact(f *events.Fact) {
	now := time.Now()
	subject := f.ContractID
	if f.Certification != nil {
		subject = f.Certification.RequestID
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.facts++
	t, ok := r.waiting[subject]
	if !ok {
		return
	}
	delete(r.waiting, subject)
	if f.Kind != events.FactDocumentsArchived {
		r.lag = append(r.lag, now.Sub(t))
	}
}

// take ends an interval: its latencies and lags, sorted.
func (r *soakRecorder) take() (accepted, errors, facts int, lat, lag []time.Duration) {
	r.mu.Lock()
	accepted, errors, facts, lat, lag = r.accepted, r.errors, r.facts, r.lat, r.lag
	r.allLat, r.allLag = append(r.allLat, lat...), append(r.allLag, lag...)
	r.lat, r.lag = nil, nil
	r.mu.Unlock()
	slices.Sort(lat)
	slices.Sort(lag)
	return
}

// RunSoak runs what `qyshook serve` runs (receiver, embedded NATS, ledger,
// dispatcher and archive stage) in this process against an in-process
// fake 契约锁, plays contract lifecycles with documents and
// certifications against it for o.Duration, and reports every interval:
// callbacks accepted per second, answer latency, the lag from a callback's
// answer to its fact on QYS_LEDGER, and the process's RSS. The load
// generator and the fake run in the same process and count in its CPU and
// RSS.
func RunSoak(ctx context.Context, o SoakOptions) (*SoakResult, error) {
	if o.Duration <= 0 {
		o.Duration = DefaultSoakDuration
	}
	if o.Interval <= 0 {
		o.Interval = DefaultSoakInterval
	}
	if o.Workers <= 0 {
		o.Workers = DefaultSoakWorkers
	}
	dir, cleanup, err := benchDir(o.Dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	fake := qystest.NewServer(qystest.WithLogLimit(1000))
	defer fake.Close()
	st, err := newStack(ctx, stackOptions{Dir: dir, DB: o.DB, SyncInterval: o.SyncInterval, Secret: DefaultSecret, Fake: fake,
		CheckpointInterval: o.CheckpointInterval})
	if err != nil {
		return nil, err
	}
	defer st.close()
	rec := &soakRecorder{waiting: map[string]time.Time{}}
	names, js := st.svc.Names, st.svc.Conn.JS
	cons, err := js.OrderedConsumer(ctx, names.LedgerStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{names.LedgerWildcard()}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return nil, fmt.Errorf("bench: ledger subscription: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var f events.Fact
		if json.Unmarshal(m.Data(), &f) == nil {
			rec.fact(&f)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("bench: ledger subscription: %w", err)
	}
	defer cc.Stop()
	st.startDispatch()

	res := &SoakResult{DB: "sqlite", Sync: syncName(o.SyncInterval), RSSStart: ProcessRSS()}
	if !st.sqlite {
		res.DB = "postgres"
	}
	urls := map[string]string{}
	for _, r := range []string{"contract", "auth/company", "auth/personal"} {
		urls[r] = st.callbackURL(r)
	}
	p := newPoster(o.Workers, DefaultSecret)
	defer p.close()
	loadCtx, stopLoad := context.WithTimeout(ctx, o.Duration)
	defer stopLoad()
	var tokens <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(o.Rate))
		defer t.Stop()
		tokens = t.C
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				if tokens != nil {
					select {
					case <-tokens:
					case <-loadCtx.Done():
						return
					}
				}
				playLifecycle(ctx, p, fake, urls, int(next.Add(1)-1), rec.answered)
			}
		}()
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()
	if o.Out != nil {
		fmt.Fprint(o.Out, SoakHeader)
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	last, lastAt := struct {
		accepted, errors, facts int
		applied                 float64
	}{}, start
	report := func(final bool) {
		now := time.Now()
		if final && now.Sub(lastAt) < o.Interval/2 {
			rec.take() // a short tail: counted in the summary only
			return
		}
		accepted, errs, facts, lat, lag := rec.take()
		applied := st.applied()
		secs := now.Sub(lastAt).Seconds()
		ledger, _ := st.ledgerBytes(ctx)
		iv := SoakInterval{At: now.Sub(start), AcceptedPerSec: float64(accepted-last.accepted) / secs, Errors: errs - last.errors,
			P50: Percentile(lat, 0.5), P99: Percentile(lat, 0.99), LagP50: Percentile(lag, 0.5), LagP99: Percentile(lag, 0.99),
			FactsPerSec: float64(facts-last.facts) / secs, AppliedPerSec: (applied - last.applied) / secs, RSS: ProcessRSS(),
			StreamDiskBytes: DirSize(st.streamDir()), LedgerDiskBytes: ledger}
		res.RSSPeak = max(res.RSSPeak, iv.RSS)
		res.Intervals = append(res.Intervals, iv)
		last.accepted, last.errors, last.facts, last.applied, lastAt = accepted, errs, facts, applied, now
		if o.Out != nil {
			iv.line(o.Out)
		}
	}
loop:
	for {
		select {
		case <-tick.C:
			report(false)
		case <-loadDone:
			break loop
		}
	}
	res.Duration = time.Since(start)
	loadEnd := time.Now()
	report(true)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.Lifecycles = int(next.Load())
	caught := time.Now()
	if err := waitCaughtUp(ctx, js, names, 2*time.Minute); err != nil {
		return nil, err
	}
	res.CaughtUp = time.Since(caught)
	time.Sleep(500 * time.Millisecond) // the outbox relays the last facts
	rec.mu.Lock()
	res.Accepted, res.Errors, res.Facts = rec.accepted, rec.errors, rec.facts
	lat, lag := append(rec.allLat, rec.lat...), append(rec.allLag, rec.lag...)
	rec.mu.Unlock()
	slices.Sort(lat)
	slices.Sort(lag)
	res.AcceptedPerSec = float64(res.Accepted) / res.Duration.Seconds()
	res.P50, res.P99 = Percentile(lat, 0.5), Percentile(lat, 0.99)
	res.LagP50, res.LagP99, res.LagMax, res.LagSamples = Percentile(lag, 0.5), Percentile(lag, 0.99), Percentile(lag, 1), len(lag)
	res.RSSEnd = ProcessRSS()
	res.RSSPeak = max(res.RSSPeak, res.RSSEnd)
	res.StreamDisk = DirSize(st.streamDir())
	if res.LedgerDisk, err = st.ledgerBytes(ctx); err != nil {
		return nil, err
	}
	if res.DLQ, err = streamMsgCount(ctx, js, names.DLQStream()); err != nil {
		return nil, err
	}
	if res.Checkpoints, err = checkpointAges(ctx, st.svc.Ledger, st.svc.Cfg.Anchor.Interval, start, loadEnd); err != nil {
		return nil, err
	}
	return res, nil
}

// waitCaughtUp waits until the dispatcher's consumer has nothing pending
// or unacknowledged.
func waitCaughtUp(ctx context.Context, js jetstream.JetStream, names events.Names, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		c, err := js.Consumer(ctx, names.CallbacksStream(), names.Durable(events.DurableLedger))
		if err == nil {
			if info, err := c.Info(ctx); err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: the dispatcher did not catch up within %v", limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// streamMsgCount is the number of messages in a stream.
func streamMsgCount(ctx context.Context, js jetstream.JetStream, name string) (uint64, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("bench: stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("bench: stream %s: %w", name, err)
	}
	return info.State.Msgs, nil
}
