package bench

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
)

// DefaultBurst is BurstOptions.N's default.
const DefaultBurst = 20000

// BurstOptions configures RunBurst.
type BurstOptions struct {
	// N is how many callbacks to send (default 20,000), each for a
	// contract of its own.
	N int
	// Concurrency is the number of keep-alive connections (default 64).
	Concurrency int
	// Dispatch runs the dispatcher while the callbacks come in. Without
	// it the dispatcher starts once all N are accepted, so the accept
	// rate, the stream's disk and the memory held for N callbacks are
	// measured first, then the drain alone.
	Dispatch bool
	// DB is the ledger: "" or "sqlite", or a postgres:// URL.
	DB string
	// SyncInterval, when positive, is QYSHOOK_NATS_SYNC (zero: fsync
	// every write, the default).
	SyncInterval time.Duration
	// DuplicateWindow, when positive, is QYSHOOK_DUPLICATE_WINDOW (the
	// callback stream's duplicate window, whose message ids the embedded
	// server holds in memory; default 48h).
	DuplicateWindow time.Duration
	// Dir is the data dir (default: a temporary directory, removed).
	Dir string
	// Out receives progress lines (nil: none).
	Out io.Writer
	// Profile, when set, receives a CPU profile of the drain (the
	// dispatcher stopped during the burst) or of the whole run (Dispatch).
	Profile io.Writer
}

// MaxWindowWait is the longest duplicate window RunBurst waits out (with
// the dispatcher stopped) to measure the RSS once the held callbacks'
// message ids are dropped.
const MaxWindowWait = 5 * time.Minute

// BurstResult is the outcome of RunBurst.
type BurstResult struct {
	N, Accepted, Errors int
	Dispatch            bool
	DB, Sync            string
	DuplicateWindow     time.Duration
	AcceptElapsed       time.Duration
	AcceptPerSec        float64
	P50, P99            time.Duration
	// RSSBefore and RSSHeld are the process's RSS before the burst and
	// with the N callbacks held in the stream (dispatcher stopped only).
	RSSBefore, RSSHeld uint64
	// RSSWindowPassed is the RSS with the N callbacks still held but the
	// duplicate window passed since the last was accepted, so the
	// embedded server has dropped their message ids (dispatcher stopped,
	// a window of at most MaxWindowWait only; 0 otherwise).
	RSSWindowPassed uint64
	// StreamDiskHeld is the NATS store's size with the N callbacks held
	// (dispatcher stopped only).
	StreamDiskHeld int64
	// DrainElapsed runs from the dispatcher's start (stopped) or from the
	// last callback's answer (running) until every accepted callback is
	// applied.
	DrainElapsed time.Duration
	// DrainStartRate is events/s over the first 10 % applied, and
	// DrainEndRate over the last 10 %.
	DrainStartRate, DrainEndRate float64
	// DrainStartCPU and DrainEndCPU are the process's CPU time per event
	// applied over the first and the last tenth of the drain (from the
	// dispatcher's start to 10 %, from 90 % to 100 %): less sensitive
	// than the rates to other programs on the machine.
	DrainStartCPU, DrainEndCPU time.Duration
	StreamDiskEnd, LedgerDisk  int64
	DLQ                        uint64
}

// RSSPerMillionHeld is the RSS growth while the callbacks are held,
// scaled to a million callbacks.
func (r *BurstResult) RSSPerMillionHeld() float64 {
	if r.RSSHeld < r.RSSBefore {
		return 0
	}
	return PerMillion(float64(r.RSSHeld-r.RSSBefore), r.Accepted)
}

// String formats the result.
func (r *BurstResult) String() string {
	mode := "dispatcher stopped during the burst"
	if r.Dispatch {
		mode = "dispatcher running during the burst"
	}
	s := fmt.Sprintf("burst (%s, sync %s, duplicate window %v, %s): %d callbacks, %d accepted in %v (%.0f/s), %d errors, answer p50 %s p99 %s\n",
		r.DB, r.Sync, r.DuplicateWindow, mode, r.N, r.Accepted, r.AcceptElapsed.Round(time.Millisecond), r.AcceptPerSec, r.Errors, ms(r.P50), ms(r.P99))
	if !r.Dispatch {
		s += fmt.Sprintf("held: RSS %s → %s (%s per million held); stream store %s (%s per million)\n",
			mib(float64(r.RSSBefore)), mib(float64(r.RSSHeld)), mib(r.RSSPerMillionHeld()),
			mib(float64(r.StreamDiskHeld)), mib(PerMillion(float64(r.StreamDiskHeld), r.Accepted)))
		if r.RSSWindowPassed > 0 {
			var ids float64
			if r.RSSHeld > r.RSSWindowPassed {
				ids = PerMillion(float64(r.RSSHeld-r.RSSWindowPassed), r.Accepted)
			}
			s += fmt.Sprintf("held after the duplicate window passed: RSS %s; the window's message ids cost %s per million\n",
				mib(float64(r.RSSWindowPassed)), mib(ids))
		}
	}
	flat := Ratio(r.DrainEndRate, r.DrainStartRate)
	s += fmt.Sprintf("drain: %v; %.0f events/s over the first 10 %%, %.0f over the last 10 %% (last ÷ first %.2f); DLQ %d\n",
		r.DrainElapsed.Round(time.Millisecond), r.DrainStartRate, r.DrainEndRate, flat, r.DLQ)
	if r.DrainStartCPU > 0 && r.DrainEndCPU > 0 {
		s += fmt.Sprintf("drain CPU per event: %v over the first 10 %%, %v over the last 10 %% (last ÷ first %.2f)\n",
			r.DrainStartCPU.Round(time.Microsecond), r.DrainEndCPU.Round(time.Microsecond),
			float64(r.DrainEndCPU)/float64(r.DrainStartCPU))
	}
	s += fmt.Sprintf("disk after the drain: stream store %s (%s per million), ledger %s (%s per million)",
		mib(float64(r.StreamDiskEnd)), mib(PerMillion(float64(r.StreamDiskEnd), r.Accepted)),
		mib(float64(r.LedgerDisk)), mib(PerMillion(float64(r.LedgerDisk), r.Accepted)))
	return s
}

// drainPoll is how often the drain's timeline and progress read the
// applied counter. Each read gathers the stack's whole registry (the
// stream and archive-queue collectors query NATS and the ledger): at
// 20 ms and 50 ms they took 6 % of the drain's CPU.
const drainPoll = 100 * time.Millisecond

// drainSample is the applied count at a time.
type drainSample struct {
	at      time.Duration
	applied float64
}

// drainRates computes the rate over the first 10 % of n (from the
// timeline's start to the first sample at 10 % or more) and over the
// last 10 % (from when the last count below 90 % was first seen to the
// first sample at n). The dispatcher applies whole batches, so a span may
// cover a little more than 10 %. Zero where the timeline does not tell.
func drainRates(samples []drainSample, n int) (start, end float64) {
	if n <= 0 {
		return 0, 0
	}
	reach := func(frac float64) int {
		return slices.IndexFunc(samples, func(s drainSample) bool { return s.applied >= frac*float64(n) })
	}
	if i := reach(0.1); i >= 0 && samples[i].at > 0 {
		start = samples[i].applied / samples[i].at.Seconds()
	}
	last := reach(1)
	if last < 0 {
		return start, 0
	}
	below := -1
	for i := last - 1; i >= 0; i-- {
		if samples[i].applied < 0.9*float64(n) {
			below = i
			break
		}
	}
	for below > 0 && samples[below-1].applied == samples[below].applied {
		below-- // from when that count was first reached
	}
	from := drainSample{} // the timeline's start when nothing had been applied before
	if below >= 0 && samples[below].applied > 0 {
		from = samples[below]
	}
	if span := samples[last].at - from.at; span > 0 {
		end = (samples[last].applied - from.applied) / span.Seconds()
	}
	return start, end
}

// RunBurst sends N callbacks, each for a contract of its own, as fast as
// the receiver answers them into serve's wiring (embedded NATS, ledger,
// dispatcher) in this process, then times the drain to the ledger. With
// the dispatcher stopped during the burst it also reports the stream's
// disk and the process's RSS while the N callbacks are held.
func RunBurst(ctx context.Context, o BurstOptions) (*BurstResult, error) {
	if o.N <= 0 {
		o.N = DefaultBurst
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	dir, cleanup, err := benchDir(o.Dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	fake := qystest.NewServer(qystest.WithLogLimit(1000))
	defer fake.Close()
	st, err := newStack(ctx, stackOptions{Dir: dir, DB: o.DB, SyncInterval: o.SyncInterval, Secret: DefaultSecret, Fake: fake,
		DuplicateWindow: o.DuplicateWindow})
	if err != nil {
		return nil, err
	}
	defer st.close()
	res := &BurstResult{N: o.N, Dispatch: o.Dispatch, DB: "sqlite", Sync: syncName(o.SyncInterval), DuplicateWindow: st.svc.Cfg.Stream.DuplicateWindow}
	if !st.sqlite {
		res.DB = "postgres"
	}
	base := time.Now().UnixNano()
	id := func(i int) string { return strconv.FormatInt(base+int64(i), 10) }
	addContract := func(i int) {
		fake.AddContract(qystest.ContractSpec{ID: id(i), Subject: "burst", Status: lifecycle.Signing,
			Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方"}}})
	}
	debug.FreeOSMemory()
	res.RSSBefore = ProcessRSS()
	var samples []drainSample
	var sampling sync.WaitGroup
	stopSampling := make(chan struct{})
	sample := func(from time.Time) {
		defer sampling.Done()
		for {
			samples = append(samples, drainSample{at: time.Since(from), applied: st.applied()})
			select {
			case <-stopSampling:
				return
			case <-time.After(drainPoll):
			}
		}
	}
	profiling := false
	startProfile := func() error {
		if o.Profile == nil {
			return nil
		}
		if err := pprof.StartCPUProfile(o.Profile); err != nil {
			return err
		}
		profiling = true
		return nil
	}
	defer func() {
		if profiling {
			pprof.StopCPUProfile()
		}
	}()
	start := time.Now()
	origin := start // of the drain timeline
	if o.Dispatch {
		if err := startProfile(); err != nil {
			return nil, err
		}
		st.startDispatch()
		sampling.Add(1)
		go sample(origin)
	}
	if err := burstLoad(ctx, st, o, res, id, addContract); err != nil {
		return nil, err
	}
	loadEnd := time.Now()
	if o.Out != nil {
		fmt.Fprintf(o.Out, "accepted %d of %d in %v (%.0f/s)\n", res.Accepted, o.N, res.AcceptElapsed.Round(time.Millisecond), res.AcceptPerSec)
	}
	drainFrom := loadEnd
	if !o.Dispatch {
		debug.FreeOSMemory()
		res.RSSHeld = ProcessRSS()
		res.StreamDiskHeld = DirSize(st.streamDir())
		if w := res.DuplicateWindow; w > 0 && w <= MaxWindowWait {
			if o.Out != nil {
				fmt.Fprintf(o.Out, "waiting for the duplicate window (%v) to pass\n", w)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Until(loadEnd.Add(w + 5*time.Second))):
			}
			debug.FreeOSMemory()
			res.RSSWindowPassed = ProcessRSS()
		}
		for i := range o.N {
			addContract(i) // the platform's truth, after the memory is measured
		}
		if err := startProfile(); err != nil {
			return nil, err
		}
		drainFrom = time.Now()
		origin = drainFrom
		st.startDispatch()
		sampling.Add(1)
		go sample(origin)
	}
	err = waitDrained(ctx, st, res.Accepted, o.Out, res)
	res.DrainElapsed = time.Since(drainFrom)
	if profiling {
		pprof.StopCPUProfile()
		profiling = false
	}
	close(stopSampling)
	sampling.Wait()
	if err != nil {
		return nil, err
	}
	samples = append(samples, drainSample{at: time.Since(origin), applied: st.applied()}) // the end, however the sampler stood
	res.DrainStartRate, res.DrainEndRate = drainRates(samples, res.Accepted)
	st.stopDispatch()
	res.StreamDiskEnd = DirSize(st.streamDir())
	if res.LedgerDisk, err = st.ledgerBytes(ctx); err != nil {
		return nil, err
	}
	if res.DLQ, err = streamMsgCount(ctx, st.svc.Conn.JS, st.svc.Names.DLQStream()); err != nil {
		return nil, err
	}
	return res, nil
}

// burstLoad sends callback i for contract id(i), i from 0 to o.N-1, over
// o.Concurrency connections, each built as it is sent. With the
// dispatcher running, each contract is added to the fake just before its
// callback.
func burstLoad(ctx context.Context, st *stack, o BurstOptions, res *BurstResult, id func(int) string, addContract func(int)) error {
	p := newPoster(o.Concurrency, DefaultSecret)
	defer p.close()
	url := st.callbackURL("contract")
	var (
		next atomic.Int64
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, o.N)
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			ok, bad := 0, 0
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.N {
					break
				}
				if o.Dispatch {
					addContract(i)
				}
				d, accepted := p.post(ctx, url, contractCallback{ContractID: id(i),
					CallbackType: qystest.CallbackSendSigning, ContractStatus: lifecycle.Signing})
				if accepted {
					ok++
					mine = append(mine, d)
				} else {
					bad++
				}
			}
			mu.Lock()
			res.Accepted, res.Errors, lat = res.Accepted+ok, res.Errors+bad, append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.AcceptElapsed = time.Since(start)
	res.AcceptPerSec = float64(res.Accepted) / res.AcceptElapsed.Seconds()
	slices.Sort(lat)
	res.P50, res.P99 = Percentile(lat, 0.5), Percentile(lat, 0.99)
	return ctx.Err()
}

// waitDrained waits until the dispatcher has applied n events, printing
// each tenth to out, and sets res's CPU per event over the first and last
// tenths.
func waitDrained(ctx context.Context, st *stack, n int, out io.Writer, res *BurstResult) error {
	start, step := time.Now(), 1
	cpu0, applied0 := ProcessCPU(), st.applied()
	// The last reading below 90 %: the last tenth runs from there (a
	// batch may carry the count past several tenths at once).
	cpu9, applied9 := float64(cpu0), applied0
	perEvent := func(cpu, from, to float64) time.Duration {
		if to <= from {
			return 0
		}
		return time.Duration(cpu / (to - from))
	}
	for {
		applied := st.applied()
		cpu := float64(ProcessCPU())
		if applied < 0.9*float64(n) {
			cpu9, applied9 = cpu, applied
		}
		for step <= 10 && applied >= float64(n)*float64(step)/10 {
			el := time.Since(start)
			switch step {
			case 1:
				// Only when the reading started below the first tenth
				// (with -dispatch it starts after the load, well past it):
				// a figure of one poll's CPU is not the first tenth's.
				if applied0 < float64(n)/10 {
					res.DrainStartCPU = perEvent(cpu-float64(cpu0), applied0, applied)
				}
			case 10:
				res.DrainEndCPU = perEvent(cpu-cpu9, applied9, applied)
			}
			if out != nil {
				fmt.Fprintf(out, "applied %3d %% (%d) after %v: %.0f events/s so far\n", step*10, int(applied),
					el.Round(10*time.Millisecond), applied/el.Seconds())
			}
			step++
		}
		if applied >= float64(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(drainPoll):
		}
	}
}
