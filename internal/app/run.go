package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/health"
)

// Roles selects what a process runs.
type Roles struct {
	Receiver   bool // the callback HTTP routes
	Dispatcher bool // the consumer, outbox relay and reconciler
}

// RunOptions are optional hooks for Run.
type RunOptions struct {
	// OnReady is called with the bound HTTP address once everything runs.
	OnReady func(addr string)
	// OnAdmin is called with the admin API's bound address once it
	// listens (not called when the admin API is off).
	OnAdmin func(addr string)
	// ShutdownTimeout bounds the HTTP drain (default 20 s).
	ShutdownTimeout time.Duration
}

// Run opens the services and runs the selected roles until ctx ends, then
// shuts down in order: stop accepting HTTP and drain in-flight requests,
// stop the stages (the dispatcher finishes its batch; the relay, last,
// flushes the outbox), close the ledger, and close NATS last.
func Run(ctx context.Context, cfg *config.Config, log zerolog.Logger, roles Roles, o RunOptions) error {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	stopTracing := startTracing(ctx, log)
	defer stopTracing()
	svc, err := Open(ctx, cfg, log, Parts{NATS: true, Ledger: roles.Dispatcher, Provision: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	if roles.Dispatcher {
		if err := svc.checkAPI(ctx); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if roles.Dispatcher {
		reg.MustRegister(svc.Budgets)
		if err := svc.registerCertificationMetrics(reg); err != nil {
			return err
		}
	}
	if svc.Conn != nil && svc.Conn.Embedded != nil {
		registerSyncMetrics(reg, svc.Conn.Embedded.Syncer())
	}
	registerSyncMode(reg, syncInfoOf(svc.Conn))
	if roles.Dispatcher {
		registerFailureMetrics(reg, svc.Failures)
		registerFoundEdited(reg, svc.Ledger, log)
	}
	handler, err := svc.handler(roles, reg)
	if err != nil {
		return err
	}
	var stages []Stage
	if roles.Dispatcher && svc.apiRefused == nil {
		if stages, err = svc.Stages(reg, cfg.Dispatch.ReconcileInterval > 0); err != nil {
			return err
		}
	}
	adm, err := svc.OpenAdmin(reg)
	if err != nil {
		return err
	}
	if adm != nil && o.OnAdmin != nil {
		o.OnAdmin(adm.Addr())
	}
	srv := NewServerWith(cfg.HTTPAddr, handler, log, serverOptions(cfg.HTTP, "callback", reg))
	if err := srv.Open(); err != nil {
		_ = adm.Shutdown(ctx)
		return ListenHint(err, config.Prefix+"HTTP_ADDR (or serve -addr)")
	}
	actx, stopActivity := context.WithCancel(ctx)
	activityDone := make(chan struct{})
	go func() {
		defer close(activityDone)
		if roles.Dispatcher {
			sampleLag(actx, svc.Conn.JS, svc.Names, svc.Activity)
		}
	}()
	defer func() { stopActivity(); <-activityDone }() // before svc.Close: it reads the consumer
	stopStages := StartStages(log, stages)
	defer func() { _ = stopStages() }() // errors were logged as they came
	log.Info().Str("http_addr", srv.Addr()).Bool("receiver", roles.Receiver).
		Bool("dispatcher", roles.Dispatcher).Bool("embedded_nats", svc.Conn.Embedded != nil).Msg("qyshook running")
	if o.OnReady != nil {
		o.OnReady(srv.Addr())
	}

	<-ctx.Done()
	log.Info().Msg("shutting down: draining HTTP requests")
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	shutdownErr := errors.Join(srv.Shutdown(sctx), adm.Shutdown(sctx))
	_ = stopStages() // errors were logged as they came
	log.Info().Msg("stopped")
	return shutdownErr
}

// handler is the HTTP surface of the roles: the probes of internal/health
// (/healthz, /readyz and /metrics) with the checks the roles need, and the
// receiver's callback routes when it runs.
func (s *Services) handler(roles Roles, reg *prometheus.Registry) (http.Handler, error) {
	mux := http.NewServeMux()
	o := health.Options{Checks: s.readiness(roles), Gatherer: reg, Details: syncInfoOf(s.Conn).readyDetails(),
		MoreDetails: degradedDetails(s.Failures)}
	if roles.Dispatcher {
		o.Warnings = []health.Check{s.anchorWarning()}
	}
	health.Mount(mux, o)
	if roles.Receiver {
		rc, err := s.NewReceiver(reg)
		if err != nil {
			return nil, err
		}
		mux.Handle("/", rc)
	}
	return mux, nil
}

// readiness is what /readyz checks: NATS connected and the callbacks
// stream reachable (both roles need them), the embedded server's stores
// taking writes, and the ledger answering when the dispatcher runs.
func (s *Services) readiness(roles Roles) []health.Check {
	checks := []health.Check{health.NATSConnected(s.Conn.NC), health.Stream(s.Conn.JS, s.Names.CallbacksStream())}
	if s.Conn.Embedded != nil {
		checks = append(checks, health.Store(s.Conn.Embedded.StoreError))
	}
	if roles.Dispatcher && s.Ledger != nil {
		checks = append(checks, health.Database(s.Ledger))
	}
	if roles.Dispatcher && s.apiRefused != nil {
		checks = append(checks, s.apiCredentials())
	}
	return checks
}
