package natsconn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/pidlock"
)

// Defaults for Options.
const (
	DefaultName          = "qyshook"
	DefaultReconnectWait = time.Second
	DefaultDrainTimeout  = 10 * time.Second
	// DefaultStoreCheckInterval is how often the embedded server's stores
	// are checked for a kept write error.
	DefaultStoreCheckInterval = 2 * time.Second
)

// Options configures Connect.
type Options struct {
	// URL is the NATS server (comma-separated for a cluster). Empty starts
	// an embedded JetStream server.
	URL string
	// EmbeddedStoreDir is the embedded server's store (required when URL
	// is empty), normally DATA_DIR/nats.
	EmbeddedStoreDir string
	// EmbeddedListenAddr, e.g. "127.0.0.1:4223", opens a TCP port on the
	// embedded server for other processes; empty keeps it in-process.
	EmbeddedListenAddr string
	// EmbeddedListenPublish lets that port's clients publish (see
	// embeddednats.Options.ListenPublish); without it they may only
	// subscribe and consume.
	EmbeddedListenPublish bool
	// EmbeddedLedgerStreams are the streams whose consumers that port's
	// subscribe-only clients may work (embeddednats.Options.LedgerStreams:
	// events.Names.LedgerStream; default "QYS_LEDGER").
	EmbeddedLedgerStreams []string
	// EmbeddedSyncInterval, when positive, lets the embedded server fsync
	// at that interval instead of on every write; zero (every write
	// durable before it is used) or embeddednats.SyncEachWrite. In grouped
	// mode JS's publishes wait for the group sync (see Syncer).
	EmbeddedSyncInterval time.Duration
	// EmbeddedStoreCheck is how often the embedded server's stores are
	// checked for a kept write error (default DefaultStoreCheckInterval).
	// A store in error on a disk that takes writes again is recovered by
	// restarting the embedded server in-process.
	EmbeddedStoreCheck time.Duration
	// Name is the connection name shown by the server (default "qyshook").
	Name string
	// ReconnectWait is the pause between reconnect attempts, plus up to
	// half of it as random jitter (default 1 s).
	ReconnectWait time.Duration
	// DrainTimeout bounds Close's drain (default 10 s).
	DrainTimeout time.Duration
	// Logger receives disconnect (warn) and reconnect (info) events. The
	// zero value logs nothing.
	Logger zerolog.Logger
}

// Conn is an open NATS connection with its JetStream context.
type Conn struct {
	// NC is the core connection.
	NC *nats.Conn
	// JS is the JetStream API on NC.
	JS jetstream.JetStream
	// Embedded is the embedded server, nil when connected to a URL.
	Embedded *embeddednats.Server

	closed       chan struct{}
	drainTimeout time.Duration
	stopWatch    chan struct{} // ends watchStore (embedded only)
	watchDone    chan struct{}
}

// Connect opens the connection. With a URL it returns at once even when
// the server is down: the client keeps retrying in the background
// (RetryOnFailedConnect), so callers check NC.IsConnected or use
// WaitConnected. Without a URL it starts the embedded server first.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = DefaultReconnectWait
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.EmbeddedStoreCheck <= 0 {
		o.EmbeddedStoreCheck = DefaultStoreCheckInterval
	}
	c := &Conn{closed: make(chan struct{}), drainTimeout: o.DrainTimeout}
	opts := c.options(o)
	var err error
	if o.URL == "" {
		if o.EmbeddedStoreDir == "" {
			return nil, errors.New("natsconn: embedded server: store dir required")
		}
		c.Embedded, err = embeddednats.Start(embeddednats.Options{
			StoreDir: o.EmbeddedStoreDir, ListenAddr: o.EmbeddedListenAddr, ListenPublish: o.EmbeddedListenPublish,
			LedgerStreams: o.EmbeddedLedgerStreams, SyncInterval: o.EmbeddedSyncInterval,
		})
		if errors.Is(err, pidlock.ErrHeld) {
			return nil, err // one line for the operator, no package prefixes
		}
		if err != nil {
			return nil, fmt.Errorf("natsconn: %w", err)
		}
		c.NC, err = c.Embedded.Connect(opts...)
	} else {
		c.NC, err = nats.Connect(o.URL, opts...)
	}
	if err != nil {
		c.shutdownEmbedded()
		return nil, fmt.Errorf("natsconn: connect: %w", err)
	}
	c.JS, err = jetstream.New(c.NC)
	if err != nil {
		c.NC.Close()
		c.shutdownEmbedded()
		return nil, fmt.Errorf("natsconn: jetstream: %w", err)
	}
	if c.Embedded != nil && c.Embedded.Syncer() != nil {
		c.JS = syncedJS{JetStream: c.JS, gs: c.Embedded.Syncer()}
	}
	if ctx.Err() != nil {
		_ = c.Close()
		return nil, ctx.Err()
	}
	if c.Embedded != nil {
		c.stopWatch, c.watchDone = make(chan struct{}), make(chan struct{})
		go c.watchStore(o.Logger, o.EmbeddedStoreCheck)
	}
	switch {
	case c.Embedded != nil:
		ev := o.Logger.Info().Str("nats_listen", c.Embedded.ClientURL()).Str("nats_sync", c.Embedded.SyncMode())
		if c.Embedded.ClientURL() != "" {
			ev = ev.Str("nats_listen_access", c.Embedded.ListenAccess())
		}
		if r := c.Embedded.SyncReason(); r != "" {
			ev = ev.Str("nats_sync_not_grouped", r)
		}
		ev.Msg("embedded nats started")
	case c.NC.IsConnected():
		o.Logger.Info().Str("nats_url", c.NC.ConnectedUrlRedacted()).Msg("nats connected")
	default:
		o.Logger.Warn().Msg("nats not reachable yet; retrying in the background")
	}
	return c, nil
}

func (c *Conn) options(o Options) []nats.Option {
	log := o.Logger
	return []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(o.ReconnectWait),
		nats.ReconnectJitter(o.ReconnectWait/2, o.ReconnectWait/2),
		nats.RetryOnFailedConnect(true),
		nats.DrainTimeout(o.DrainTimeout),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil || nc.IsClosed() || nc.IsDraining() {
				log.Debug().Msg("nats connection closed") // our own Close
				return
			}
			log.Warn().Err(err).Msg("nats disconnected")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("nats_url", nc.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			log.Warn().Err(err).Msg("nats async error")
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
	}
}

// WaitConnected waits until the connection is up or ctx ends.
func (c *Conn) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !c.NC.IsConnected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsconn: not connected: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Close drains the connection (pending publishes are flushed and
// subscriptions finish), waits for it to close, then shuts the embedded
// server down. Close the HTTP server first so in-flight requests finish.
func (c *Conn) Close() error {
	var err error
	if c.NC != nil && !c.NC.IsClosed() {
		if c.NC.IsConnected() {
			err = c.NC.Drain()
		} else {
			c.NC.Close()
		}
		if err != nil {
			c.NC.Close()
		}
		select {
		case <-c.closed:
		case <-time.After(c.drainTimeout + time.Second):
		}
	}
	c.shutdownEmbedded()
	if err != nil {
		return fmt.Errorf("natsconn: drain: %w", err)
	}
	return nil
}

func (c *Conn) shutdownEmbedded() {
	if c.stopWatch != nil {
		close(c.stopWatch)
		<-c.watchDone
		c.stopWatch = nil
	}
	if c.Embedded != nil {
		c.Embedded.Shutdown()
	}
}

// watchStore recovers the embedded server from a kept write error
// (docs/architecture.md, "Health"): every interval it asks the server for
// its stores' health; while one is in error it probes the disk, and once
// the disk takes writes again it restarts the server in-process, which
// reopens the stores. Until then /readyz reports the error
// (health.Store) and publishes fail, so callbacks are answered 503 and
// 契约锁 retries them.
func (c *Conn) watchStore(log zerolog.Logger, interval time.Duration) {
	defer close(c.watchDone)
	failing := false // logged this episode
	wait := interval // grows while restarts do not clear the error
	for {
		select {
		case <-c.stopWatch:
			return
		case <-time.After(wait):
		}
		err := c.Embedded.StoreError()
		if err == nil {
			if failing {
				log.Info().Msg("embedded nats store writable again")
			}
			failing, wait = false, interval
			continue
		}
		if errors.Is(err, embeddednats.ErrSync) {
			if !failing {
				log.Error().Err(err).Msg("embedded nats store could not be synced to disk: callbacks are answered 503 until qyshook is restarted")
			}
			failing = true
			continue // final: written pages may be lost, a restart of the server in-process would hide it
		}
		if !errors.Is(err, embeddednats.ErrStoreWrite) {
			continue // not a kept write error: /readyz reports it, a restart would not help
		}
		if perr := c.Embedded.ProbeDisk(); perr != nil {
			if !failing {
				log.Error().Err(err).AnErr("probe", perr).
					Msg("embedded nats store refuses writes and the disk is not writable (full?): callbacks are answered 503 until it is")
			}
			failing = true
			continue
		}
		failing = true
		log.Warn().Err(err).Msg("embedded nats store refused a write and the disk is writable again: restarting the embedded server in-process")
		wait = min(2*wait, time.Minute) // back off if the restart does not clear it
		if rerr := c.Embedded.Restart(); rerr != nil {
			log.Error().Err(rerr).Msg("embedded nats restart failed; retrying")
			continue
		}
		log.Info().Msg("embedded nats restarted in-process; stores reopened")
	}
}
