package anchor

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/redact"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa"
)

// Defaults of Options.
const (
	// DefaultInterval is how often a checkpoint is signed (when the tree grew).
	DefaultInterval = time.Minute
	// DefaultMaxDelay is how long the oldest checkpoint may stay
	// unanchored before Delayed reports it.
	DefaultMaxDelay = 15 * time.Minute
	// DefaultRetryMin and DefaultRetryMax bound the backoff between two
	// stamping attempts while no authority answers.
	DefaultRetryMin = 5 * time.Second
	DefaultRetryMax = 5 * time.Minute
	// stampBatch is the most checkpoints one pass stamps.
	stampBatch = 100
)

// ErrDelayed: the oldest unanchored checkpoint is older than MaxDelay.
var ErrDelayed = errors.New("anchor: anchoring delayed")

// Options configure an Anchor. Head, Keys and Ledger are required.
type Options struct {
	// Head reads the receipt log's current tree (size and root hash).
	Head func(ctx context.Context) (tlog.Tree, error)
	// Leaf reads one leaf of that log. When the log keeps the checkpoints'
	// own log.checkpoint facts (the ledger's receipt log does), a tree that
	// grew only by the last checkpoint's facts is not signed again: an idle
	// system signs once, not once per interval. Nil: every growth is signed
	// (a log that records no checkpoint facts).
	Leaf func(ctx context.Context, idx int64) (store.LogLeaf, error)
	// Keys signs the checkpoints.
	Keys *checkpoint.Keyring
	// TSA stamps them (nil: checkpoints are signed and stored, never
	// anchored; Delayed then reports nothing).
	TSA *tsa.Client
	// Ledger stores checkpoints, stamps and facts.
	Ledger store.CheckpointLog
	// Names and Tenants: a log.checkpoint fact is written for each tenant.
	Names   events.Names
	Tenants []string
	// Interval between two checkpoints (default DefaultInterval).
	Interval time.Duration
	// MaxDelay before Delayed reports (default DefaultMaxDelay).
	MaxDelay time.Duration
	// RetryMin, RetryMax bound the stamping backoff (defaults
	// DefaultRetryMin, DefaultRetryMax).
	RetryMin, RetryMax time.Duration
	Logger             zerolog.Logger
	// Registerer receives the stage's metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Anchor is the anchor stage.
type Anchor struct {
	o         Options
	kick      chan struct{} // Request: sign now
	stampKick chan struct{} // a new checkpoint: stamp now
	m         *metrics

	signMu  sync.Mutex // serialises signing (an interval and a request)
	stampMu sync.Mutex // serialises stamping passes (a slow authority never holds up signing)
	state   struct {
		sync.Mutex
		stats store.CheckpointStats
		read  bool
	}
}

// New checks o and returns the stage; Run starts it.
func New(o Options) (*Anchor, error) {
	if o.Head == nil || o.Keys == nil || o.Ledger == nil {
		return nil, errors.New("anchor: head, keys and ledger are required")
	}
	if len(o.Tenants) == 0 {
		return nil, errors.New("anchor: no tenant to publish checkpoints to")
	}
	for _, t := range o.Tenants {
		if !events.ValidToken(t) {
			return nil, fmt.Errorf("anchor: tenant %q is not a subject token", t)
		}
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Anchor{o: o, kick: make(chan struct{}, 1), stampKick: make(chan struct{}, 1)}
	a.m = newMetrics(a)
	if o.Registerer != nil {
		if err := a.m.register(o.Registerer); err != nil {
			return nil, fmt.Errorf("anchor: metrics: %w", err)
		}
	}
	return a, nil
}

// Run signs and stamps until ctx ends. Signing (every Interval, or on
// Request) and stamping (after each new checkpoint, and with backoff
// while no authority answers) run in two loops, so an authority that
// hangs never holds up a checkpoint.
func (a *Anchor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { a.stampLoop(ctx) })
	defer wg.Wait()
	var nextSign time.Time
	for {
		if now := a.o.Now(); !now.Before(nextSign) {
			if _, err := a.sign(ctx); err != nil && ctx.Err() == nil {
				a.o.Logger.Warn().Err(err).Msg("log checkpoint not signed; retrying at the next interval")
			}
			nextSign = now.Add(a.o.Interval)
			a.kickStamp()
		}
		a.refresh(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-a.kick:
			nextSign = time.Time{} // a request: sign (if grown) and stamp now
		case <-time.After(max(nextSign.Sub(a.o.Now()), 0)):
		}
	}
}

// stampLoop stamps the unanchored checkpoints when kicked, and again
// with backoff while an attempt leaves some unanchored.
func (a *Anchor) stampLoop(ctx context.Context) {
	failures := 0
	for {
		var retry <-chan time.Time
		if ok := a.stamp(ctx); !ok && a.o.TSA != nil {
			retry = time.After(backoff.Jitter(backoff.Exponential(a.o.RetryMin, a.o.RetryMax, failures), 0.5))
			failures++
		} else {
			failures = 0
		}
		a.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-a.stampKick:
		case <-retry:
		}
	}
}

func (a *Anchor) kickStamp() {
	select {
	case a.stampKick <- struct{}{}:
	default:
	}
}

// Request signs a checkpoint of the current tree now if it grew since the
// last one, and asks the running stage to stamp it. It returns the newest
// checkpoint (the new one, or the last one when the tree did not grow)
// and whether it is new; nil when the log is still empty.
func (a *Anchor) Request(ctx context.Context) (*store.LogCheckpoint, bool, error) {
	c, err := a.sign(ctx)
	if err != nil {
		return nil, false, err
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
	if c != nil {
		return c, true, nil
	}
	st, err := a.o.Ledger.CheckpointStats(ctx)
	if err != nil {
		return nil, false, err
	}
	return st.Latest, false, nil
}

// sign stores a checkpoint of the head when the tree grew; it returns it,
// or nil when there was nothing new.
func (a *Anchor) sign(ctx context.Context) (*store.LogCheckpoint, error) {
	a.signMu.Lock()
	defer a.signMu.Unlock()
	tree, err := a.o.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("anchor: read the log head: %w", err)
	}
	st, err := a.o.Ledger.CheckpointStats(ctx)
	if err != nil {
		return nil, fmt.Errorf("anchor: %w", err)
	}
	last := int64(0)
	if st.Latest != nil {
		last = st.Latest.Size
	}
	if tree.N < last {
		a.m.shrunk.Inc()
		return nil, fmt.Errorf("anchor: the log head has %d leaves, fewer than the last checkpoint's %d", tree.N, last)
	}
	if tree.N == last {
		return nil, nil
	}
	if own, err := a.onlyOwnFacts(ctx, last, tree.N); err != nil {
		return nil, err
	} else if own {
		return nil, nil
	}
	msg, err := a.o.Keys.Sign(tree)
	if err != nil {
		return nil, err
	}
	c := store.LogCheckpoint{Size: tree.N, Root: hex.EncodeToString(tree.Hash[:]), Note: msg,
		Origin: a.o.Keys.Origin(), KeyID: a.o.Keys.KeyID(), CreatedAt: a.o.Now().UTC()}
	facts, err := a.facts(c)
	if err != nil {
		return nil, err
	}
	if err := a.o.Ledger.AddCheckpoint(ctx, c, facts); errors.Is(err, store.ErrDuplicate) {
		return nil, nil // another dispatcher signed this size first
	} else if err != nil {
		return nil, fmt.Errorf("anchor: %w", err)
	}
	a.m.signed.Inc()
	if st.Latest != nil {
		a.m.ageAtSign.Observe(c.CreatedAt.Sub(st.Latest.CreatedAt).Seconds())
	}
	a.o.Logger.Info().Int64("size", c.Size).Str("root", c.Root).Str("key_id", c.KeyID).Msg("log checkpoint signed")
	return &c, nil
}

// onlyOwnFacts reports whether leaves [last, n) are all log.checkpoint
// facts of the checkpoint of size last (the ones its own commit wrote):
// then nothing new happened since it. At most one leaf per tenant is
// read; any other leaf means growth.
func (a *Anchor) onlyOwnFacts(ctx context.Context, last, n int64) (bool, error) {
	if a.o.Leaf == nil || last == 0 || n-last > int64(len(a.o.Tenants)) {
		return false, nil
	}
	for idx := last; idx < n; idx++ {
		l, err := a.o.Leaf(ctx, idx)
		if err != nil {
			return false, fmt.Errorf("anchor: read leaf %d: %w", idx, err)
		}
		if l.Kind != receiptlog.KindFact || l.Ref != events.CheckpointFactID(l.Tenant, last) {
			return false, nil
		}
	}
	return true, nil
}

// facts returns the log.checkpoint fact of c for every tenant.
func (a *Anchor) facts(c store.LogCheckpoint) ([]store.Fact, error) {
	out := make([]store.Fact, 0, len(a.o.Tenants))
	for _, t := range a.o.Tenants {
		f := events.Fact{Schema: events.SchemaLedgerV1, ID: events.CheckpointFactID(t, c.Size), Tenant: t,
			Kind: events.FactLogCheckpoint, Confirmed: true, OccurredAt: c.CreatedAt,
			Checkpoint: &events.FactCheckpoint{Origin: c.Origin, Size: c.Size, Root: c.Root, KeyID: c.KeyID, Note: string(c.Note)}}
		b, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("anchor: fact: %w", err)
		}
		out = append(out, store.Fact{ID: f.ID, Subject: a.o.Names.LedgerCheckpointSubject(t), Tenant: t,
			Payload: b, CreatedAt: c.CreatedAt})
	}
	return out, nil
}

// stamp asks the authorities for the unanchored checkpoints, oldest
// first; it reports false when one could not be anchored (no authority
// answered), leaving the rest for the next attempt.
func (a *Anchor) stamp(ctx context.Context) bool {
	if a.o.TSA == nil {
		return true
	}
	a.stampMu.Lock()
	defer a.stampMu.Unlock()
	for {
		pending, err := a.o.Ledger.UnanchoredCheckpoints(ctx, stampBatch)
		if err != nil {
			if ctx.Err() == nil {
				a.o.Logger.Warn().Err(err).Msg("unanchored checkpoints not read; retrying")
			}
			return false
		}
		for _, c := range pending {
			if !a.stampOne(ctx, c) {
				return false
			}
		}
		if len(pending) < stampBatch {
			return true
		}
	}
}

// stampOne asks every authority at once for a token over c's note and
// stores those that answer; it reports whether at least one did.
func (a *Anchor) stampOne(ctx context.Context, c store.LogCheckpoint) bool {
	urls := a.o.TSA.URLs()
	type result struct {
		st  tsa.Stamp
		err error
	}
	results := make([]result, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			st, err := a.o.TSA.Stamp(ctx, u, c.Note)
			results[i] = result{st, err}
		})
	}
	wg.Wait()
	anchored := false
	for i, r := range results {
		label := redact.URL(urls[i])
		if r.err != nil {
			a.m.tsaRequests.WithLabelValues(label, "error").Inc()
			if ctx.Err() == nil {
				a.o.Logger.Warn().Err(r.err).Str("tsa", label).Int64("size", c.Size).Msg("time-stamp not obtained; anchoring delayed")
			}
			continue
		}
		a.m.tsaRequests.WithLabelValues(label, "ok").Inc()
		err := a.o.Ledger.AddStamp(ctx, store.LogStamp{Size: c.Size, TSAURL: label, Token: r.st.Token,
			Certs: certsPEM(r.st.Certs), GenTime: r.st.Time, Serial: r.st.Serial, StampedAt: a.o.Now().UTC()})
		if err != nil && !errors.Is(err, store.ErrDuplicate) {
			if ctx.Err() == nil {
				a.o.Logger.Warn().Err(err).Int64("size", c.Size).Msg("time-stamp not stored; retrying")
			}
			continue
		}
		anchored = true
	}
	if anchored {
		a.m.anchorDelay.Observe(a.o.Now().Sub(c.CreatedAt).Seconds())
		a.o.Logger.Info().Int64("size", c.Size).Msg("log checkpoint anchored")
	}
	return anchored
}

func certsPEM(ders [][]byte) string {
	var b bytes.Buffer
	for _, d := range ders {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return b.String()
}

// refresh reads the checkpoint stats the metrics and Delayed show.
func (a *Anchor) refresh(ctx context.Context) {
	st, err := a.o.Ledger.CheckpointStats(ctx)
	if err != nil {
		return // the last stats stay; the ledger's own check reports it
	}
	a.state.Lock()
	a.state.stats, a.state.read = st, true
	a.state.Unlock()
}

func (a *Anchor) stats() (store.CheckpointStats, bool) {
	a.state.Lock()
	defer a.state.Unlock()
	return a.state.stats, a.state.read
}

// Delayed returns ErrDelayed while the oldest unanchored checkpoint is
// older than MaxDelay (as of the stage's last pass), nil otherwise.
func (a *Anchor) Delayed(context.Context) error {
	if a.o.TSA == nil {
		return nil
	}
	st, _ := a.stats()
	if st.OldestUnanchored != nil && a.o.Now().Sub(*st.OldestUnanchored) > a.o.MaxDelay {
		return fmt.Errorf("%w: the oldest unanchored checkpoint was signed at %s", ErrDelayed, st.OldestUnanchored.UTC().Format(time.RFC3339))
	}
	return nil
}
