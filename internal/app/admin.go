package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/connlimit"
	"github.com/qyshook/qyshook/reconcile"
)

// AdminHandler builds the admin API and the web console in front of it
// from the services: the ledger, the streams when NATS is open, the
// document store, and the tokens of cfg.Admin.
// Its failed-authentication counter registers on reg (may be nil).
func (s *Services) AdminHandler(reg prometheus.Registerer) (http.Handler, error) {
	if s.Ledger == nil {
		return nil, errors.New("admin: this process holds no ledger")
	}
	a := s.Cfg.Admin
	var tokens []admin.Token
	if t := a.Token.Reveal(); t != "" {
		tokens = append(tokens, admin.Token{Secret: t, Role: admin.RoleOperator})
	}
	if t := a.ViewerToken.Reveal(); t != "" {
		tokens = append(tokens, admin.Token{Secret: t, Role: admin.RoleViewer})
	}
	var js jetstream.JetStream
	if s.Conn != nil {
		js = s.Conn.JS
	}
	log := s.Log.With().Str("component", "admin").Logger()
	o := admin.Options{Tokens: tokens, Ledger: s.Ledger, JS: js, Names: s.Names, Logger: &log,
		ReconcileWindow: s.Cfg.Dispatch.ReconcileWindow, NATSSync: syncInfoOf(s.Conn).String(), Registerer: reg,
		Failures: s.Failures, Activity: s.Activity, OpenBundle: s.openBundle,
		DeliveryTimeout: s.Cfg.Delivery.Timeout, DisableAfter: s.Cfg.Delivery.DisableAfter,
		PrivateTenants:    s.Cfg.Delivery.AllowPrivateTenants,
		RequestCheckpoint: s.requestCheckpoint()}
	if s.Conn != nil && len(s.APIs) > 0 {
		rec, err := s.NewReconciler()
		if err != nil {
			return nil, err
		}
		o.Reconcile = AdminReconcile(rec.RunOnce)
	}
	api, err := admin.New(o)
	if err != nil {
		return nil, err
	}
	// The web console beside the API: /console/ and /api/v1/ on one listener.
	return admin.NewConsole(admin.ConsoleOptions{API: api, Docs: s.Docs})
}

// AdminServer is the admin API's own listener.
type AdminServer struct {
	srv  *http.Server
	ln   net.Listener
	log  zerolog.Logger
	done chan struct{}
}

// OpenAdmin listens on cfg.Admin.Addr and serves the admin API in the
// background, with the connection limits of cfg.HTTP (its metrics
// labelled listener="admin" on reg, which may be nil). It returns nil and no error, after logging one line, when
// the admin API is off (QYSHOOK_ADMIN_ADDR=off or no token) or when this
// process holds no ledger (a receiver alone).
func (s *Services) OpenAdmin(reg prometheus.Registerer) (*AdminServer, error) {
	cfg := s.Cfg.Admin
	switch {
	case cfg.Addr == "":
		s.Log.Info().Msg("admin API off (QYSHOOK_ADMIN_ADDR=off)")
		return nil, nil
	case !cfg.Enabled():
		s.Log.Info().Msg("admin API off: set QYSHOOK_ADMIN_TOKEN (operator) or QYSHOOK_ADMIN_VIEWER_TOKEN to turn it on")
		return nil, nil
	case s.Ledger == nil:
		s.Log.Info().Msg("admin API off: this process holds no ledger")
		return nil, nil
	}
	h, err := s.AdminHandler(reg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, ListenHint(fmt.Errorf("admin: listen %s: %w", cfg.Addr, err), config.Prefix+"ADMIN_ADDR")
	}
	o := serverOptions(s.Cfg.HTTP, "admin", reg)
	o.defaults()
	lim, err := connlimit.Wrap(ln, connlimit.Options{Max: o.MaxConns, Name: o.Name, Registerer: o.Registerer})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("admin: %w", err)
	}
	a := &AdminServer{
		srv: &http.Server{
			Handler: h, ReadHeaderTimeout: o.ReadHeaderTimeout, ReadTimeout: ReadTimeout,
			WriteTimeout: 60 * time.Second, IdleTimeout: o.IdleTimeout,
		},
		ln: lim, log: s.Log, done: make(chan struct{}),
	}
	if c, ok := h.(interface{ CloseStreams() }); ok {
		// Live-event streams never go idle: end them when shutdown starts.
		a.srv.RegisterOnShutdown(c.CloseStreams)
	}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error().Err(err).Msg("admin server stopped")
		}
	}()
	s.Log.Info().Str("admin_addr", ln.Addr().String()).Str("console", "http://"+ln.Addr().String()+admin.ConsolePrefix+"/").
		Msg("admin API and console listening")
	return a, nil
}

// Addr is the bound address, e.g. "127.0.0.1:8082".
func (a *AdminServer) Addr() string { return a.ln.Addr().String() }

// Shutdown stops accepting requests and waits for those in flight (or
// ctx). A nil server (admin API off) does nothing.
func (a *AdminServer) Shutdown(ctx context.Context) error {
	if a == nil {
		return nil
	}
	err := a.srv.Shutdown(ctx)
	if c, ok := a.srv.Handler.(interface{ Close() }); ok {
		c.Close() // background jobs (replays, reconcile passes) end with the server
	}
	if err != nil {
		_ = a.srv.Close()
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	<-a.done
	return nil
}

// AdminReconcile adapts a reconciler's RunOnce to the admin API's
// ReconcileFunc: the contracts and the certifications it checked, each
// counted apart.
func AdminReconcile(runOnce func(ctx context.Context, since time.Time) (reconcile.Report, error)) admin.ReconcileFunc {
	return func(ctx context.Context, since time.Time) (admin.ReconcileResult, error) {
		rep, err := runOnce(ctx, since)
		return admin.ReconcileResult{Checked: rep.Checked, Triggered: rep.Triggered, Requeued: rep.Requeued,
			CertificationsChecked: rep.CertificationsChecked, CertificationsUnconfirmed: rep.CertificationsUnconfirmed,
			UnconfirmedCertifications: rep.UnconfirmedCertifications}, err
	}
}

// ListenHint adds to a listen failure because the address is taken the
// setting that moves it: every listener of serve names its own
// (QYSHOOK_HTTP_ADDR, QYSHOOK_ADMIN_ADDR, QYSHOOK_EMBEDDED_NATS_ADDR).
func ListenHint(err error, setting string) error {
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	return fmt.Errorf("%w (another process listens there, perhaps another qyshook: set %s to a free address)", err, setting)
}
