package bundler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/store"
)

// Defaults of Options.
const (
	// DefaultInterval is how often the stage looks for due contracts.
	DefaultInterval = 30 * time.Second
	// DefaultBatch is how many due contracts one pass takes.
	DefaultBatch = 100
	// DefaultMaxDelay is how long a bundle waits for an anchored
	// checkpoint before it is built over a signed, unanchored one.
	DefaultMaxDelay = 15 * time.Minute
)

// Ledger is what the stage reads and writes: the SQL ledgers implement it.
type Ledger interface {
	store.EvidenceStore
	Contract(ctx context.Context, tenant, id string) (*store.Contract, error)
	Events(ctx context.Context, tenant, contractID string) ([]store.Event, error)
	LogLeaves(ctx context.Context, kind, tenant, ref string, limit int) ([]store.LogLeaf, error)
	LogInclusion(ctx context.Context, idx, treeSize int64) (tlog.Tree, tlog.RecordProof, error)
	LogHead(ctx context.Context) (tlog.Tree, error)
	CheckpointStats(ctx context.Context) (store.CheckpointStats, error)
}

// Options configure a Bundler. Ledger, DataDir and Signer are required.
type Options struct {
	Ledger Ledger
	// DataDir is where the archived files are (documents.path is relative
	// to it) and where bundles are written (evidence/…).
	DataDir string
	// Signer signs each bundle's manifest: the receipt log's checkpoint
	// key, so one verifier key checks both.
	Signer note.Signer
	// VerifierKey is Signer's note verifier key, carried in the bundle.
	VerifierKey string
	// Anchoring: time-stamping is configured, so a bundle waits for an
	// anchored checkpoint (up to MaxDelay, then it is built over a signed
	// one and its summary says so). Without it, the latest signed
	// checkpoint serves.
	Anchoring bool
	// MaxDelay (default DefaultMaxDelay): see Anchoring.
	MaxDelay time.Duration
	// Interval between passes (default DefaultInterval); Batch is how many
	// due contracts one pass takes (default DefaultBatch).
	Interval time.Duration
	Batch    int
	Logger   zerolog.Logger
	// Registerer receives the stage's metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Bundler is the evidence stage.
type Bundler struct {
	o    Options
	m    *metrics
	kick chan struct{}
	pass sync.Mutex // one pass at a time
	// held are contracts (at one contract leaf) whose last build was
	// refused or failed: they are skipped until their time (doubling from
	// one interval to an hour), so a few bad contracts neither fill every
	// batch nor the log. Only Pass touches it (one pass at a time).
	held map[store.DueContract]hold

	omu sync.Mutex
	// orphans are zips this builder wrote whose record failed (the ledger
	// refused the write), by the version they were built as: each retry
	// writes another name, so they are removed once that version is
	// recorded (keeping the recorded file, should another builder have
	// written the very same bytes). A restart forgets them (noted in
	// docs/evidence.md).
	orphans map[orphanKey][]string
}

// orphanKey is a bundle version: tenant, contract, version.
type orphanKey struct {
	tenant, id string
	version    int
}

// hold is when a contract is tried again, and its last wait.
type hold struct {
	until time.Time
	wait  time.Duration
}

// maxHold bounds the wait between two tries of a refused or failed contract.
const maxHold = time.Hour

// ErrWaiting: no checkpoint covers the bundle's leaves yet (or, with
// anchoring on, none of those is anchored and MaxDelay has not passed).
var ErrWaiting = errors.New("bundler: waiting for a checkpoint that covers the contract's leaves")

// ErrLostRace: another builder (a second process on the same ledger)
// recorded this bundle version first; this builder's zip was removed and
// nothing is wrong.
var ErrLostRace = errors.New("bundler: another builder recorded this bundle version first")

// New checks o and returns the stage; Run starts it.
func New(o Options) (*Bundler, error) {
	if o.Ledger == nil || o.DataDir == "" || o.Signer == nil {
		return nil, errors.New("bundler: ledger, data dir and signer are required")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Bundler{o: o, m: newMetrics(), kick: make(chan struct{}, 1), held: map[store.DueContract]hold{},
		orphans: map[orphanKey][]string{}}
	if o.Registerer != nil {
		if err := b.m.register(o.Registerer); err != nil {
			return nil, fmt.Errorf("bundler: metrics: %w", err)
		}
	}
	return b, nil
}

// Kick asks for a pass now (the demo, after its contracts ended).
func (b *Bundler) Kick() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// Run passes every Interval until ctx ends. A pass that fails is logged;
// the stage goes on. A pass that took a full batch and built from it is
// followed by the next at once: more are due, and a thousand contracts
// ending together get their bundles in one go, not a batch an interval.
func (b *Bundler) Run(ctx context.Context) error {
	t := time.NewTicker(b.o.Interval)
	defer t.Stop()
	for {
		r, err := b.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			b.o.Logger.Warn().Err(err).Msg("evidence pass failed; retried next interval")
		}
		if err == nil && r.Built+r.LostRace > 0 && r.tried() >= b.o.Batch && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-b.kick:
		}
	}
}

// PassResult counts what one pass did.
type PassResult struct {
	Due, Built, Waiting, Refused, Failed int
	// LostRace: another builder recorded the same bundle version first.
	LostRace int
}

// tried is how many contracts the pass tried to build.
func (r PassResult) tried() int { return r.Built + r.Waiting + r.Refused + r.Failed + r.LostRace }

// Pass builds the bundles due now, one contract after the other. A
// contract that cannot be built is logged and counted, and the pass goes
// on; one refused or failed is held back (an interval, doubling up to an
// hour) before it is tried again. It returns an error only when the due
// contracts cannot be listed.
func (b *Bundler) Pass(ctx context.Context) (PassResult, error) {
	b.pass.Lock()
	defer b.pass.Unlock()
	var r PassResult
	now := b.o.Now()
	active := 0
	for k, h := range b.held {
		switch {
		case now.Before(h.until):
			active++
		case now.Sub(h.until) > 2*maxHold:
			delete(b.held, k) // long past: its wait starts over
		}
	}
	due, err := b.o.Ledger.EvidenceDue(ctx, b.o.Batch+active)
	if err != nil {
		return r, fmt.Errorf("bundler: due contracts: %w", err)
	}
	r.Due = len(due)
	b.m.due.Set(float64(len(due)))
	defer b.sweepOrphans(ctx)
	tried := 0
	for _, d := range due {
		if ctx.Err() != nil || tried == b.o.Batch {
			return r, nil
		}
		key := store.DueContract{Tenant: d.Tenant, ID: d.ID, ContractLeaf: d.ContractLeaf}
		if h, ok := b.held[key]; ok && now.Before(h.until) {
			continue
		}
		tried++
		start := time.Now()
		bundle, err := b.Build(ctx, d)
		log := b.o.Logger.With().Str("tenant", d.Tenant).Str("contract_id", d.ID).Logger()
		switch {
		case err == nil:
			delete(b.held, key)
			r.Built++
			b.m.bundles.WithLabelValues(OutcomeBuilt).Inc()
			b.m.seconds.Observe(time.Since(start).Seconds())
			log.Info().Int("version", bundle.Version).Str("path", bundle.Path).Int("items", bundle.Items).
				Int("discrepancies", bundle.Discrepancies).Msg("evidence bundle built")
		case errors.Is(err, ErrLostRace):
			delete(b.held, key)
			r.LostRace++
			b.m.bundles.WithLabelValues(OutcomeLostRace).Inc()
			log.Info().Err(err).Msg("evidence bundle built by another builder first; this one's zip removed")
		case errors.Is(err, ErrWaiting):
			r.Waiting++
			b.m.bundles.WithLabelValues(OutcomeWaiting).Inc()
			log.Debug().Err(err).Msg("evidence bundle waits for a checkpoint")
		case errors.Is(err, store.ErrRowEdited) || errors.Is(err, ErrFileChanged):
			r.Refused++
			b.m.bundles.WithLabelValues(OutcomeRefused).Inc()
			log.Error().Err(err).Dur("retry_in", b.holdBack(key, now)).
				Msg("evidence bundle refused: the ledger no longer matches its receipt log")
		default:
			r.Failed++
			b.m.bundles.WithLabelValues(OutcomeFailed).Inc()
			log.Warn().Err(err).Dur("retry_in", b.holdBack(key, now)).Msg("evidence bundle failed; retried later")
		}
	}
	return r, nil
}

// holdBack holds key back: an interval after its first failure, twice
// the last wait after each next one, at most maxHold.
func (b *Bundler) holdBack(key store.DueContract, now time.Time) time.Duration {
	wait := b.o.Interval
	if h, ok := b.held[key]; ok {
		wait = min(2*h.wait, maxHold)
	}
	b.held[key] = hold{until: now.Add(wait), wait: wait}
	return wait
}

// orphan notes a zip written for key whose record failed.
func (b *Bundler) orphan(key orphanKey, rel string) {
	b.omu.Lock()
	defer b.omu.Unlock()
	b.orphans[key] = append(b.orphans[key], rel)
	b.m.orphans.Set(float64(b.orphanCount()))
}

func (b *Bundler) orphanCount() int {
	n := 0
	for _, rels := range b.orphans {
		n += len(rels)
	}
	return n
}

// sweepOrphans removes the orphan zips of every version now recorded,
// except the recorded file itself. A version not recorded yet keeps its
// orphans (its contract is still due; the ledger may still be failing).
func (b *Bundler) sweepOrphans(ctx context.Context) {
	b.omu.Lock()
	defer b.omu.Unlock()
	for key, rels := range b.orphans {
		rec, err := b.o.Ledger.Bundle(ctx, key.tenant, key.id, key.version)
		if err != nil {
			continue
		}
		var left []string
		for _, rel := range rels {
			if rel == rec.Path {
				continue
			}
			err := os.Remove(filepath.Join(b.o.DataDir, filepath.FromSlash(rel)))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				b.o.Logger.Warn().Err(err).Str("path", rel).Msg("evidence: removing a zip whose record failed")
				left = append(left, rel)
			}
		}
		if len(left) == 0 {
			delete(b.orphans, key)
		} else {
			b.orphans[key] = left
		}
	}
	b.m.orphans.Set(float64(b.orphanCount()))
}
