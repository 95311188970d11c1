package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/connlimit"
)

// Server timeouts that are not settings.
const (
	ReadTimeout  = 30 * time.Second
	WriteTimeout = 30 * time.Second
)

// ServerOptions bound a server's connections. Zero fields take the
// defaults of internal/config (2048 connections, 30 s idle, 5 s headers).
type ServerOptions struct {
	// MaxConns is the most connections held open at once; more are
	// answered 503 and closed (see internal/connlimit).
	MaxConns int
	// IdleTimeout closes an idle keep-alive connection.
	IdleTimeout time.Duration
	// ReadHeaderTimeout closes a connection whose headers take longer.
	ReadHeaderTimeout time.Duration
	// WriteTimeout bounds writing one response (default WriteTimeout).
	WriteTimeout time.Duration
	// Name is the listener label of the connection metrics (default "callback").
	Name string
	// Registerer receives the connection metrics; nil registers none.
	Registerer prometheus.Registerer
}

// serverOptions turns the configured limits into ServerOptions.
func serverOptions(l config.HTTPLimits, name string, reg prometheus.Registerer) ServerOptions {
	return ServerOptions{MaxConns: l.MaxConns, IdleTimeout: l.IdleTimeout, ReadHeaderTimeout: l.ReadHeaderTimeout,
		Name: name, Registerer: reg}
}

func (o *ServerOptions) defaults() {
	if o.MaxConns <= 0 {
		o.MaxConns = config.DefaultMaxConns
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = config.DefaultIdleTimeout
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = config.DefaultReadHeaderTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = WriteTimeout
	}
	if o.Name == "" {
		o.Name = "callback"
	}
}

// Server serves a handler over HTTP with production timeouts and a cap
// on open connections.
type Server struct {
	srv  *http.Server
	o    ServerOptions
	ln   net.Listener
	lim  *connlimit.Listener
	log  zerolog.Logger
	done chan struct{}
}

// NewServer returns a server for handler on addr (":0" picks a free port)
// with the default limits and no metrics.
func NewServer(addr string, handler http.Handler, log zerolog.Logger) *Server {
	return NewServerWith(addr, handler, log, ServerOptions{})
}

// NewServerWith returns a server for handler on addr with the limits of o.
func NewServerWith(addr string, handler http.Handler, log zerolog.Logger, o ServerOptions) *Server {
	o.defaults()
	return &Server{
		srv: &http.Server{
			Addr:              addr,
			Handler:           handler,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			ReadTimeout:       ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			ErrorLog:          nil,
		},
		o:    o,
		log:  log,
		done: make(chan struct{}),
	}
}

// Open listens synchronously, so Addr is known when it returns, then
// serves in the background.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("http: listen %s: %w", s.srv.Addr, err)
	}
	s.lim, err = connlimit.Wrap(ln, connlimit.Options{Max: s.o.MaxConns, Name: s.o.Name, Registerer: s.o.Registerer})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("http: %w", err)
	}
	s.ln = s.lim
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Int("max_conns", s.o.MaxConns).Dur("idle_timeout", s.o.IdleTimeout).
		Msg("http listening")
	return nil
}

// Addr is the bound address, e.g. "127.0.0.1:41234" (empty before Open).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// OpenConns is the number of connections open now (0 before Open).
func (s *Server) OpenConns() int64 {
	if s.lim == nil {
		return 0
	}
	return s.lim.Open()
}

// RefusedConns is the number of connections refused over the cap.
func (s *Server) RefusedConns() int64 {
	if s.lim == nil {
		return 0
	}
	return s.lim.Refused()
}

// URL is the base URL for clients on this machine.
func (s *Server) URL() string {
	addr, ok := s.ln.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Shutdown stops accepting connections and waits for in-flight requests
// to finish (or ctx to end). Close the NATS connection only after it
// returns, so those requests can still be acknowledged.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("http: shutdown: %w", err)
	}
	<-s.done
	return nil
}
