package receiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natsconn"
)

// DefaultShutdownTimeout bounds the wait for in-flight requests at Close.
const DefaultShutdownTimeout = 30 * time.Second

// Main is the standalone receiver process: NATS connection, stream
// provisioning, Receiver and Server, closed in the right order.
type Main struct {
	// Config is the loaded configuration.
	Config *config.Config
	// Logger is the process logger (zero value: no logs).
	Logger zerolog.Logger
	// Registry holds the metrics (default: a new registry with the Go and
	// process collectors).
	Registry *prometheus.Registry
	// ShutdownTimeout bounds Close's wait for in-flight requests.
	ShutdownTimeout time.Duration

	conn     *natsconn.Conn
	server   *Server
	cancel   context.CancelFunc
	provDone chan struct{}
}

// NewMain returns a Main for cfg.
func NewMain(cfg *config.Config, log zerolog.Logger) *Main {
	return &Main{Config: cfg, Logger: log, ShutdownTimeout: DefaultShutdownTimeout}
}

// Run connects to NATS (or starts the embedded server), provisions the
// streams, and opens the HTTP listener; it returns once the listener is
// open. When NATS is not reachable yet, provisioning continues in the
// background and /readyz answers 503 until it succeeds.
func (m *Main) Run(ctx context.Context) (err error) {
	cfg := m.Config
	if m.Registry == nil {
		m.Registry = prometheus.NewRegistry()
		m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	opts, err := OptionsFromConfig(cfg)
	if err != nil {
		return err
	}
	m.conn, err = natsconn.Connect(ctx, natsconn.Options{
		URL: cfg.NATSURL, EmbeddedStoreDir: cfg.EmbeddedStoreDir(), EmbeddedListenAddr: cfg.EmbeddedNATSAddr,
		Name: "qyshook-receiver", Logger: m.Logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = m.Close()
		}
	}()
	if err := m.provision(ctx, opts.Names); err != nil {
		return err
	}
	opts.Conn, opts.Logger, opts.Registerer = m.conn, m.Logger, m.Registry
	rc, err := New(opts)
	if err != nil {
		return err
	}
	m.server = NewServer(cfg.HTTPAddr, rc, m.Logger)
	return m.server.Open()
}

// provision creates or updates the streams. A connected server that
// refuses the configuration is a start-up error; an unreachable one is
// retried in the background.
func (m *Main) provision(ctx context.Context, names events.Names) error {
	settings := m.Config.Stream
	try := func() error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return names.Provision(ctx, m.conn.JS, settings)
	}
	if m.conn.NC.IsConnected() {
		return try()
	}
	ctx, m.cancel = context.WithCancel(ctx)
	m.provDone = make(chan struct{})
	go func() {
		defer close(m.provDone)
		for {
			err := m.conn.WaitConnected(ctx)
			if err == nil {
				if err = try(); err == nil {
					m.Logger.Info().Msg("streams provisioned")
					return
				}
			}
			m.Logger.Warn().Err(err).Msg("provision streams; retrying")
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return nil
}

// Addr is the HTTP listener's bound address.
func (m *Main) Addr() string {
	if m.server == nil {
		return ""
	}
	return m.server.Addr()
}

// URL is the receiver's base URL on this machine.
func (m *Main) URL() string { return m.server.URL() }

// Conn is the NATS connection (nil before Run).
func (m *Main) Conn() *natsconn.Conn { return m.conn }

// Close shuts the HTTP server down gracefully, waiting for in-flight
// requests, and only then drains and closes the NATS connection (and the
// embedded server).
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.ShutdownTimeout)
		errs = append(errs, m.server.Shutdown(ctx))
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
		<-m.provDone
	}
	if m.conn != nil {
		errs = append(errs, m.conn.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("receiver: close: %w", err)
	}
	return nil
}
