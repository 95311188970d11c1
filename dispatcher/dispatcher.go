package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/failures"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// API is what the dispatcher needs of the 契约锁 open API (*qys.Client).
type API interface {
	ContractDetail(ctx context.Context, q qys.ContractQuery) (*qys.Contract, error)
	ListContracts(ctx context.Context, q qys.ListQuery) (*qys.ContractPage, error)
}

// Options configure a Dispatcher. JS and Ledger are required.
type Options struct {
	JS     jetstream.JetStream
	Names  events.Names
	Ledger store.Ledger
	// APIs maps a tenant to its open-API client. A tenant without one
	// falls back to the callback's own fields, flagged unconfirmed.
	APIs map[string]API
	// Durable is the consumer name (default events.DurableLedger).
	Durable string
	// MaxDeliver bounds deliveries of one event before it is dead-lettered
	// (default 8).
	MaxDeliver int
	// AckWait is how long a delivery may run without a heartbeat
	// (default 30 s); long work sends InProgress heartbeats every third of it.
	AckWait time.Duration
	// Backoff spaces redeliveries after transient failures (default 2 s to 5 min).
	Backoff Backoff
	// Batch is the most messages worked together, sharing one commit
	// (default 512).
	Batch int
	// Workers is how many contracts are confirmed at once (default 16).
	Workers int
	// ArchiveBundle also queues the signed bundle (contract + sign log
	// zip) of a signed contract for the archive stage.
	ArchiveBundle bool
	// ArchiveOperationLog also queues the contract's operation log
	// (GET /v2/contract/stream, or the client's operation-log path) as the
	// pseudo-document "<contractID>.oplog" (store.OplogSuffix), a JSON
	// file archived next to its PDFs, and queues it again with every later
	// change committed for the contract (a void, a forced end), even once
	// archived (store.ContractChange.RefreshDocuments).
	ArchiveOperationLog bool
	// ArchiveItems are /v2/contract/download items also queued, each as
	// the pseudo-document "<contractID>.item.<ITEM>" (store.ItemInfix):
	// ATTACHMENT and NOTARY for a signed contract, ENDSIGN_ATTACHMENT for
	// a forced-end one (FORCE_END, END), whose documents are then queued
	// too, as they stand. Other items are ignored.
	ArchiveItems []string
	// EventTimeout bounds the work for one contract group (default 60 s).
	EventTimeout time.Duration
	// ShutdownTimeout bounds how long the batch in hand may run once Run's
	// context ends (default 30 s). Past it the batch's work is cancelled
	// and its unsettled messages are NAKed for immediate redelivery.
	ShutdownTimeout time.Duration
	// Committed, when set, is called after each batch is committed (facts
	// written to the outbox): the relay's Kick, so facts go out at once
	// without the two stages importing each other.
	Committed func()
	Logger    zerolog.Logger
	// Failures, when set, records the transient failures being retried
	// (by tenant, reason and platform code) and clears a tenant's when one
	// of its events is applied: the admin overview's "failing now".
	Failures *failures.Tracker
	// Registerer receives the metrics (nil: not registered).
	Registerer prometheus.Registerer
	// DropBrokenConsumer, when set, removes the stored state of the
	// dispatcher's consumer (stream, durable) that the NATS server refused
	// to load, reporting whether it removed any: with the embedded server,
	// (*embeddednats.Server).DropConsumerStore. It is called when the
	// server refuses to create the consumer because its stored state is
	// unusable (a consumer state file zeroed by a power cut: nats-server
	// starts without the consumer, keeps its directory, and answers every
	// creation with "error creating store for consumer"). Without it (an
	// external server) the dispatcher logs the error and keeps retrying
	// until an operator removes the consumer's directory.
	DropBrokenConsumer func(stream, durable string) (bool, error)
	// Activity, when set, is told each outcome as it happens, for the
	// admin console's charts (*activity.Recorder): activity.Applied per
	// event applied, activity.Retried per failure that will be retried
	// (a renewal too), activity.DeadLettered per event dead-lettered, all
	// under the tenant "" (every tenant).
	Activity ActivityRecorder
}

// ActivityRecorder takes the dispatcher's counts for the console's charts
// (*activity.Recorder satisfies it).
type ActivityRecorder interface {
	// Add adds v to the series of tenant in the current minute.
	Add(series, tenant string, v float64)
}

func (c *Options) setDefaults() {
	if c.Durable == "" {
		c.Durable = events.DurableLedger
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 8
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.Backoff.Base <= 0 {
		c.Backoff.Base = 2 * time.Second
	}
	if c.Backoff.Max <= 0 {
		c.Backoff.Max = 5 * time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 512
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.EventTimeout <= 0 {
		c.EventTimeout = 60 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
}

// Defaults of Options.
const (
	DefaultAckWait         = 30 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

func (c *Options) validate() error {
	var errs []error
	if c.JS == nil {
		errs = append(errs, errors.New("dispatcher: JetStream required"))
	}
	if c.Ledger == nil {
		errs = append(errs, errors.New("dispatcher: ledger required"))
	}
	return errors.Join(errs...)
}

// Dispatcher consumes QYS_CALLBACKS into the ledger.
type Dispatcher struct {
	cfg     Options
	log     zerolog.Logger
	metrics *metrics

	mu      sync.Mutex
	running bool
	// settledBefore counts the settles of the batch in hand refused
	// because the message was settled already (settledAlready).
	settledBefore atomic.Int64
}

// New returns a Dispatcher; Run starts it.
func New(cfg Options) (*Dispatcher, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := newMetrics(cfg.Registerer)
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(newStreamCollector(cfg.JS, cfg.Names, cfg.Names.Durable(cfg.Durable))); err != nil {
			return nil, fmt.Errorf("dispatcher: metrics: %w", err)
		}
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger, metrics: m}, nil
}

// ConsumerConfig is the durable consumer the dispatcher uses.
func (d *Dispatcher) ConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       d.cfg.Names.Durable(d.cfg.Durable),
		Description:   "qyshook ledger dispatcher",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.cfg.AckWait,
		// Unlimited on the server: settle enforces MaxDeliver itself, so a
		// message whose dead-lettering fails is retried, never dropped.
		MaxDeliver:    -1,
		FilterSubject: d.cfg.Names.CallbacksWildcard(),
		MaxAckPending: 4 * d.cfg.Batch,
	}
}

// Run consumes until ctx is cancelled, then finishes the batch in hand
// (every message is acked, NAKed or dead-lettered) within ShutdownTimeout
// and returns; a batch still running then is cancelled and its unsettled
// messages are left for redelivery. The facts it commits are published by
// the relay stage (Options.Committed kicks it).
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("dispatcher: already running")
	}
	d.running = true
	d.mu.Unlock()

	cons, err := d.consumer(ctx)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil // stopped during the first attempt: a stop like any other
		}
		return err // a consumer that never came up is reported, even at a stop
	}
	for ctx.Err() == nil {
		err := d.consume(ctx, cons)
		if err == nil || ctx.Err() != nil {
			continue
		}
		d.metrics.fetchErrors.Inc()
		if d.consumerMissing(ctx, err) {
			// Deleted under us, or lost by the server (it started without
			// it): recreate it. DeliverAll redelivers what is still in the
			// stream; the ledger records each event once.
			d.metrics.consumerRecreated.WithLabelValues("missing").Inc()
			d.log.Error().Err(err).Str("consumer", d.ConsumerConfig().Durable).
				Msg("the dispatcher's consumer is gone from the stream; recreating it (the callbacks still in the stream are redelivered, those already applied are recorded once)")
			c, cerr := d.consumer(ctx)
			if cerr != nil {
				if ctx.Err() != nil {
					return nil
				}
				return cerr
			}
			cons = c
			continue
		}
		d.log.Warn().Err(err).Msg("pulling from the stream failed; retrying")
		backoff.Sleep(ctx, time.Second)
	}
	return nil
}

// consumerMissing reports whether the consumer is gone after a failed
// pull: the pull said so, or the server does not know it (a pull to a
// missing consumer may also just fail with no responders or a timeout).
func (d *Dispatcher) consumerMissing(ctx context.Context, err error) bool {
	if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, lerr := d.cfg.JS.Consumer(cctx, d.cfg.Names.CallbacksStream(), d.ConsumerConfig().Durable)
	return errors.Is(lerr, jetstream.ErrConsumerNotFound)
}

// brokenConsumerStore reports whether a consumer creation failed because
// the server could not open the consumer's stored state (nats-server's
// "error creating store for consumer", e.g. a corrupt o.dat left on disk).
func brokenConsumerStore(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "creating store for consumer")
}

// consume works the stream in batches. It waits for one message, then
// takes what else is already there (up to Batch) without waiting, so a
// lone callback is applied at once and a backlog shares commits. Nothing
// is pulled while a batch is worked: no message waits in a client buffer
// with its AckWait running.
func (d *Dispatcher) consume(ctx context.Context, cons jetstream.Consumer) error {
	for ctx.Err() == nil {
		first, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		msgs := drain(first)
		if err := first.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
			return err
		}
		if len(msgs) == 0 {
			continue
		}
		if d.cfg.Batch > 1 {
			if more, err := cons.FetchNoWait(d.cfg.Batch - 1); err == nil {
				msgs = append(msgs, drain(more)...)
			}
		}
		d.runBatch(ctx, msgs)
		if d.cfg.Committed != nil {
			d.cfg.Committed()
		}
	}
	return nil
}

// runBatch works a batch with a context that outlives ctx: shutdown lets
// in-flight work finish instead of dropping it, for ShutdownTimeout at
// most, but calls still waiting for their API budget (a tenant the
// platform is refusing) give up at once (qys.StopBudgetWaits), so a
// throttled batch settles (NAKed) without waiting out the refusals. Past
// ShutdownTimeout the work is cancelled and every message not yet settled
// is NAKed without delay, so the next dispatcher gets it at once; a
// message the batch settled already refuses the NAK, and the work,
// returning with the cancellation, finds the others settled already (both
// ErrMsgAlreadyAckd, counted and logged once, not per message); one
// applied but not yet acknowledged is applied again as a duplicate, which
// the ledger ignores. If the cancelled work still does not return within
// a short grace (a call that ignores its context), runBatch leaves it.
func (d *Dispatcher) runBatch(ctx context.Context, msgs []jetstream.Msg) {
	d.settledBefore.Store(0)
	bctx, cancel := context.WithCancel(qys.StopBudgetWaits(context.WithoutCancel(ctx), ctx.Done()))
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); d.processBatch(bctx, msgs) }()
	select {
	case <-done:
		d.logSettledBefore()
		return
	case <-ctx.Done():
	}
	timer := time.NewTimer(d.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
		d.logSettledBefore()
		return
	case <-timer.C:
	}
	d.log.Warn().Int("messages", len(msgs)).Dur("shutdown_timeout", d.cfg.ShutdownTimeout).
		Msg("shutdown: the batch in hand outlasted the shutdown timeout; cancelled, its unsettled messages will be redelivered")
	// NAK before cancelling: the cancelled work would NAK with a backoff
	// delay, or settle what it finished, first.
	nakked, before := 0, 0
	for _, m := range msgs {
		switch err := m.Nak(); {
		case err == nil:
			nakked++
		case errors.Is(err, jetstream.ErrMsgAlreadyAckd):
			before++
		}
	}
	cancel()
	grace := time.NewTimer(min(d.cfg.ShutdownTimeout, shutdownGrace))
	defer grace.Stop()
	returned := true
	select {
	case <-done:
	case <-grace.C:
		returned = false
	}
	d.log.Info().Int("messages", len(msgs)).Int("nakked", nakked).Int("settled_before", before).
		Int64("settled_after", d.settledBefore.Load()).Bool("work_returned", returned).
		Msg("shutdown: batch abandoned; the NAKed messages are redelivered at once (settled_before: acked, NAKed or dead-lettered by the batch first; settled_after: finished after the NAK, left as NAKed)")
}

// logSettledBefore logs once how many of a batch's settles found their
// message settled already (none unless something else settled it).
func (d *Dispatcher) logSettledBefore() {
	if n := d.settledBefore.Load(); n > 0 {
		d.log.Warn().Int64("messages", n).Msg("batch: messages found settled already; left as they were")
	}
}

// shutdownGrace is how long runBatch waits for cancelled work to return.
const shutdownGrace = 5 * time.Second

func drain(b jetstream.MessageBatch) []jetstream.Msg {
	var msgs []jetstream.Msg
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	return msgs
}

func (d *Dispatcher) consumer(ctx context.Context) (jetstream.Consumer, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cons, err := d.cfg.JS.CreateOrUpdateConsumer(cctx, d.cfg.Names.CallbacksStream(), d.ConsumerConfig())
		cancel()
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			if lastErr != nil {
				return nil, fmt.Errorf("dispatcher: consumer: stopped after failing: %w", lastErr)
			}
			return nil, ctx.Err() // stopped, not unavailable
		}
		lastErr = err
		d.metrics.fetchErrors.Inc() // a consumer that cannot be created stalls like a failing pull
		if brokenConsumerStore(err) {
			durable := d.ConsumerConfig().Durable
			if d.cfg.DropBrokenConsumer == nil {
				d.log.Error().Err(err).Str("consumer", durable).Int("attempt", attempt).
					Msg("the NATS server cannot load the dispatcher's consumer's stored state (corrupt after a crash?) and refuses to recreate it; nothing is applied until its directory (<store>/jetstream/<account>/streams/<stream>/obs/<consumer>) is removed on the server")
			} else if dropped, derr := d.cfg.DropBrokenConsumer(d.cfg.Names.CallbacksStream(), durable); derr != nil {
				d.log.Error().Err(err).AnErr("drop_error", derr).Str("consumer", durable).
					Msg("the NATS server cannot load the dispatcher's consumer's stored state, and dropping it failed; retrying")
			} else if dropped {
				d.metrics.consumerRecreated.WithLabelValues("corrupt_state").Inc()
				d.log.Error().Err(err).Str("consumer", durable).
					Msg("the dispatcher's consumer's stored state was unusable (corrupt after a crash?): dropped it, recreating the consumer; the callbacks still in the stream are redelivered, those already applied are recorded once")
				continue
			}
		}
		d.log.Warn().Err(err).Int("attempt", attempt).Msg("consumer not available yet")
		if !backoff.Sleep(ctx, time.Duration(min(attempt+1, 5))*time.Second) {
			return nil, fmt.Errorf("dispatcher: consumer: %w", lastErr)
		}
	}
}
