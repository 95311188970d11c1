// Package app wires qyshook's parts from a config.Config: the NATS
// connection (embedded or external) with its streams, the ledger, the
// document store, the open-API clients, and from them the receiver, the
// dispatcher and the reconciler. The binaries (cmd/receiver,
// cmd/dispatcher, cmd/qyshook) stay thin by calling it.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/anchor"
	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/bundler"
	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/failures"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natsconn"
	"github.com/qyshook/qyshook/pidlock"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/relay"
	"github.com/qyshook/qyshook/retention"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
	"github.com/qyshook/qyshook/store/ledgerdb"
	"github.com/qyshook/qyshook/trimmer"
)

// Services are the open parts of one process. Close releases them.
type Services struct {
	Cfg    *config.Config
	Log    zerolog.Logger
	Names  events.Names
	Conn   *natsconn.Conn  // nil unless opened with NATS
	Ledger store.Ledger    // nil unless opened with Ledger
	Docs   *docstore.Store // documents under the data dir
	APIs   map[string]dispatcher.API
	// Budgets are the per-tenant API budgets all of APIs share.
	Budgets *Budgets
	// Failures is what the dispatcher is retrying now, by cause: read by
	// the admin overview, /readyz's details and the degraded metric.
	Failures *failures.Tracker
	// Activity is a day of per-minute figures for the console's charts,
	// sampled from this process's metrics while Run runs.
	Activity *activity.Recorder

	// LogHead reads the receipt log's head for the anchor stage (default:
	// the ledger's LogHead method, when it has one; tests set it).
	LogHead func(ctx context.Context) (tlog.Tree, error)

	anchor   *anchor.Anchor   // the anchor stage, once Stages built it
	evidence *bundler.Bundler // the evidence stage, once Stages built it

	// apiRefused holds the dispatcher: the open API refused credentials at
	// start and QYSHOOK_API_CHECK=warn kept the receiver up.
	apiRefused error

	stopProvision context.CancelFunc // background provisioning, if any
	provisioned   chan struct{}
}

// Parts selects what Open opens.
type Parts struct {
	NATS   bool
	Ledger bool
	// WaitNATS, when positive, fails Open if NATS is not reachable in time
	// (CLI tools); daemons keep retrying in the background instead.
	WaitNATS time.Duration
	// ReadOnlyLedger opens the ledger for reading only (operator commands
	// that only read): a SQLite ledger is not locked against the running
	// service, and a missing one is an error instead of being created.
	ReadOnlyLedger bool
	// Provision creates or updates the streams from this configuration
	// (daemons). Without it Open only checks that they exist, so an
	// operator tool never changes a live stream's limits.
	Provision bool
}

// Open opens the selected parts. On error nothing stays open.
func Open(ctx context.Context, cfg *config.Config, log zerolog.Logger, parts Parts) (_ *Services, err error) {
	names, err := cfg.Names()
	if err != nil {
		return nil, err
	}
	s := &Services{Cfg: cfg, Log: log, Names: names, Docs: docstore.New(cfg.DataDir), Failures: failures.New(0), Activity: activity.New()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Budgets, err = NewBudgets(cfg); err != nil {
		return nil, err
	}
	if s.APIs, err = apiClients(cfg, s.Budgets); err != nil {
		return nil, err
	}
	if parts.Ledger {
		open := func(ctx context.Context, rawURL, dataDir string) (store.Ledger, error) {
			return ledgerdb.OpenWith(ctx, rawURL, dataDir, ledgerdb.Options{SQLiteCache: cfg.SQLiteCache})
		}
		if parts.ReadOnlyLedger {
			open = ledgerdb.OpenReadOnly
		}
		if s.Ledger, err = open(ctx, cfg.DB.Reveal(), cfg.DataDir); err != nil {
			if errors.Is(err, pidlock.ErrHeld) {
				return nil, err // "ledger in use: … held by pid N"
			}
			return nil, fmt.Errorf("ledger: %w", err)
		}
	}
	if parts.NATS {
		if err = s.openNATS(ctx, parts.WaitNATS, parts.Provision); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Services) openNATS(ctx context.Context, wait time.Duration, provision bool) error {
	o := natsconn.Options{
		URL: s.Cfg.NATSURL, EmbeddedStoreDir: s.Cfg.EmbeddedStoreDir(), EmbeddedListenAddr: s.Cfg.EmbeddedNATSAddr,
		EmbeddedListenPublish: s.Cfg.EmbeddedNATSPublish, EmbeddedSyncInterval: s.Cfg.NATSSyncInterval, Logger: s.Log,
		EmbeddedLedgerStreams: []string{s.Names.LedgerStream()},
	}
	if s.Cfg.NATSSyncEachWrite {
		o.EmbeddedSyncInterval = embeddednats.SyncEachWrite
	} else if s.Cfg.NATSSyncFS {
		o.EmbeddedSyncInterval = embeddednats.SyncGroupedFS
	}
	conn, err := natsconn.Connect(ctx, o)
	if err != nil {
		return ListenHint(err, config.Prefix+"EMBEDDED_NATS_ADDR")
	}
	s.Conn = conn
	if wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if err := conn.WaitConnected(wctx); err != nil {
			return errors.New("nats: not reachable (check QYSHOOK_NATS_URL)")
		}
	}
	if provision {
		return s.provision(ctx)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, name := range []string{s.Names.CallbacksStream(), s.Names.LedgerStream(), s.Names.DLQStream()} {
		if _, err := s.Conn.JS.Stream(sctx, name); err != nil {
			return fmt.Errorf("nats: stream %s: %w (has qyshook run against this NATS and namespace?)", name, err)
		}
	}
	return nil
}

// Close releases everything opened, NATS last.
func (s *Services) Close() {
	if s.stopProvision != nil {
		s.stopProvision()
		<-s.provisioned
	}
	if s.Ledger != nil {
		_ = s.Ledger.Close()
	}
	if s.Conn != nil {
		_ = s.Conn.Close()
	}
}

// APIClients builds an open-API client for every tenant with credentials,
// each with its tenant's budget.
func APIClients(cfg *config.Config, opts ...qys.Option) (map[string]dispatcher.API, error) {
	budgets, err := NewBudgets(cfg)
	if err != nil {
		return nil, err
	}
	return apiClients(cfg, budgets, opts...)
}

func apiClients(cfg *config.Config, budgets *Budgets, opts ...qys.Option) (map[string]dispatcher.API, error) {
	out := map[string]dispatcher.API{}
	for _, t := range cfg.Tenants {
		if !t.QYS.Credentials() {
			continue
		}
		o := append([]qys.Option{}, opts...)
		if t.QYS.PrivateCloud {
			o = append(o, qys.WithPrivateCloud())
		}
		if t.QYS.OplogPath != "" {
			o = append(o, qys.WithOperationLogPath(t.QYS.OplogPath))
		}
		if t.QYS.AgentToken != "" {
			o = append(o, qys.WithAgent(t.QYS.AgentToken.Reveal(), t.QYS.AgentSecret.Reveal()))
		}
		if b := budgets.Budget(t.Name); b != nil {
			o = append(o, qys.WithBudget(b))
		}
		if t.QYS.AuthResultShape != "" {
			o = append(o, qys.WithAuthResultShape(t.QYS.AuthResultShape))
		}
		c, err := qys.NewClient(t.QYS.BaseURL, t.QYS.AppToken.Reveal(), t.QYS.AppSecret.Reveal(), o...)
		if err != nil {
			return nil, fmt.Errorf("tenant %q: %w", t.Name, err)
		}
		out[t.Name] = c
	}
	return out, nil
}

// NewReceiver builds the receiver on the open NATS connection.
func (s *Services) NewReceiver(reg *prometheus.Registry) (*receiver.Receiver, error) {
	o, err := ReceiverOptions(s.Cfg, s.Names)
	if err != nil {
		return nil, err
	}
	o.Publisher, o.Logger, o.Registerer = s.Conn.JS, s.Log.With().Str("component", "receiver").Logger(), reg
	o.Activity = s.Activity
	WarnLenientPolicies(o.Logger, s.Cfg.Tenants)
	return receiver.New(o)
}

// NewDispatcher builds the dispatcher on the open NATS connection and
// ledger; committed (the relay's Kick, or nil) is called after each
// committed batch.
func (s *Services) NewDispatcher(reg prometheus.Registerer, committed func()) (*dispatcher.Dispatcher, error) {
	t := s.Cfg.Dispatch
	o := dispatcher.Options{
		JS: s.Conn.JS, Names: s.Names, Ledger: s.Ledger, APIs: s.APIs,
		MaxDeliver: t.MaxDeliver, Workers: t.Workers, ArchiveBundle: t.ArchiveBundle, AckWait: t.AckWait,
		ArchiveOperationLog: t.ArchiveOperationLog, ArchiveItems: t.ArchiveItems, ShutdownTimeout: t.ShutdownTimeout, Committed: committed,
		Logger: s.Log.With().Str("component", "dispatcher").Logger(), Registerer: reg, Failures: s.Failures,
		Activity: s.Activity,
	}
	if s.Conn.Embedded != nil {
		// A consumer state zeroed by a power cut blocks the consumer's
		// recreation on the embedded server until its files are dropped.
		o.DropBrokenConsumer = s.Conn.Embedded.DropConsumerStore
	}
	return dispatcher.New(o)
}

// NewRelay builds the outbox relay.
func (s *Services) NewRelay(reg prometheus.Registerer) (*relay.Relay, error) {
	return relay.New(relay.Options{JS: s.Conn.JS, Ledger: s.Ledger,
		Logger: s.Log.With().Str("component", "relay").Logger(), Registerer: reg})
}

// NewTrimmer builds the callback stream's trimmer.
func (s *Services) NewTrimmer(reg prometheus.Registerer) (*trimmer.Trimmer, error) {
	return trimmer.New(trimmer.Options{JS: s.Conn.JS, Names: s.Names, Retention: s.Cfg.Dispatch.CallbackRetention,
		Logger: s.Log.With().Str("component", "trimmer").Logger(), Registerer: reg})
}

// NewRetention builds the ledger's retention stage, or nil (logged) when
// the ledger offers none.
func (s *Services) NewRetention(reg prometheus.Registerer) (*retention.Pruner, error) {
	log := s.Log.With().Str("component", "retention").Logger()
	r, ok := s.Ledger.(store.Retention)
	if !ok {
		log.Warn().Msg("this ledger offers no retention; events and published facts are kept")
		return nil, nil
	}
	t := s.Cfg.Dispatch
	return retention.New(retention.Options{Ledger: r, Events: t.LedgerRetention, Facts: t.OutboxRetention,
		Logger: log, Registerer: reg})
}

// NewArchiver builds the archive stage on the ledger and document store;
// it runs beside the dispatcher.
func (s *Services) NewArchiver(reg prometheus.Registerer) (*archiver.Archiver, error) {
	t := s.Cfg.Dispatch
	apis := map[string]archiver.API{}
	for tenant, api := range s.APIs {
		if a, ok := api.(archiver.API); ok {
			apis[tenant] = a
		}
	}
	online := map[string]bool{}
	for _, tn := range s.Cfg.Tenants {
		online[tn.Name] = tn.QYS.VerifyOnline
	}
	return archiver.New(archiver.Options{
		Ledger: s.Ledger, Docs: s.Docs, APIs: apis, Names: s.Names, VerifyOnline: online,
		ItemRefusalCodes: t.ArchiveItemRefusalCodes, SkipValidation: !t.ArchiveValidation,
		Workers: t.ArchiveWorkers, DownloadTimeout: t.DownloadTimeout,
		Logger: s.Log.With().Str("component", "archiver").Logger(), Registerer: reg,
	})
}

// NewDelivery builds the delivery stage, or nil (logged) when the ledger
// keeps no endpoints.
func (s *Services) NewDelivery(reg prometheus.Registerer) (*delivery.Stage, error) {
	log := s.Log.With().Str("component", "delivery").Logger()
	st, ok := s.Ledger.(store.EndpointStore)
	if !ok {
		log.Warn().Msg("this ledger keeps no endpoints; facts are not delivered over HTTP")
		return nil, nil
	}
	d := s.Cfg.Delivery
	if err := SyncConfigEndpoints(context.Background(), st, d.Endpoints); err != nil {
		return nil, err
	}
	return delivery.New(delivery.Options{JS: s.Conn.JS, Names: s.Names, Store: st, Schedule: d.Schedule,
		Timeout: d.Timeout, DisableAfter: d.DisableAfter, AttemptRetention: d.AttemptRetention,
		Replicas: s.Cfg.Stream.Replicas, Logger: log, Registerer: reg})
}

// configDisabled is the disabled reason of an endpoint the config file
// declares disabled.
const configDisabled = store.ConfigDisabledReason

// SyncConfigEndpoints makes or updates in the ledger the endpoints of the
// config file (source "config"). An endpoint the stage disabled (410,
// failing too long) stays disabled until enabled; one declared disabled
// is disabled. One the file no longer declares is disabled and marked
// "config-removed", its attempts and dead letters kept: the API may then
// delete it (declared again, it is the file's again).
//
// An endpoint made through the API is never taken over by a declaration
// of the same id (its secrets would be replaced by the file's and its
// receivers would start refusing): the sync fails naming the id, before
// it writes anything. The declared endpoints are saved before those the
// file dropped are disabled, so a failed save never leaves an endpoint
// disabled that the file still declares or one it dropped enabled for
// good: the next start does the rest.
func SyncConfigEndpoints(ctx context.Context, st store.EndpointStore, eps []config.Endpoint) error {
	now := time.Now().UTC()
	declared := make(map[string]bool, len(eps))
	olds := make([]*store.Endpoint, len(eps))
	for i, c := range eps {
		declared[c.ID] = true
		old, err := st.Endpoint(ctx, c.ID)
		switch {
		case err == nil:
			if old.Source == store.SourceAPI {
				return fmt.Errorf("delivery: the config file declares endpoint %q, which was made through the API "+
					"(tenant %s, %s): rename it in the file, or delete the API's endpoint first "+
					"(qyshook endpoints delete %s) and re-point its receivers to the file's secret", c.ID, old.Tenant, old.URL, c.ID)
			}
			olds[i] = old
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("delivery: config endpoint %s: %w", c.ID, err)
		}
	}
	for i, c := range eps {
		ep := store.Endpoint{ID: c.ID, Tenant: c.Tenant, URL: c.URL, Description: c.Description, Types: c.Types,
			Headers: c.Headers, RateLimit: c.RateLimit, Concurrency: c.Concurrency, Ordered: c.Ordered,
			AllowPrivate: c.AllowPrivate, AllowHTTP: c.AllowHTTP, Enabled: !c.Disabled, Source: store.SourceConfig,
			CreatedAt: now, UpdatedAt: now}
		if ep.Concurrency == 0 {
			ep.Concurrency = delivery.DefaultConcurrency
		}
		for _, sec := range c.Secrets {
			ep.Secrets = append(ep.Secrets, store.EndpointSecret{Secret: sec.Reveal(), CreatedAt: now})
		}
		if old := olds[i]; old != nil {
			ep.CreatedAt = old.CreatedAt
			if !old.Enabled && !c.Disabled && old.DisabledReason != configDisabled && old.DisabledReason != store.ConfigRemovedReason {
				ep.Enabled, ep.DisabledReason, ep.DisabledAt = false, old.DisabledReason, old.DisabledAt
			}
		}
		if c.Disabled {
			ep.DisabledReason, ep.DisabledAt = configDisabled, &now
		}
		if err := st.SaveEndpoint(ctx, ep); err != nil {
			return fmt.Errorf("delivery: config endpoint %s: %w", c.ID, err)
		}
	}
	return unconfigure(ctx, st, declared, now)
}

// unconfigure disables and marks "config-removed" the config endpoints
// not declared.
func unconfigure(ctx context.Context, st store.EndpointStore, declared map[string]bool, now time.Time) error {
	all, err := st.Endpoints(ctx, "")
	if err != nil {
		return fmt.Errorf("delivery: config endpoints: %w", err)
	}
	for _, ep := range all {
		if ep.Source != store.SourceConfig || declared[ep.ID] {
			continue
		}
		ep.Source, ep.UpdatedAt = store.SourceConfigRemoved, now
		if ep.Enabled || ep.DisabledReason == configDisabled {
			ep.Enabled, ep.DisabledReason, ep.DisabledAt = false, store.ConfigRemovedReason, &now
		}
		if err := st.SaveEndpoint(ctx, ep); err != nil {
			return fmt.Errorf("delivery: endpoint %s removed from the config: %w", ep.ID, err)
		}
	}
	return nil
}

// NewReconciler builds the reconciler.
func (s *Services) NewReconciler() (*reconcile.Reconciler, error) {
	t := s.Cfg.Dispatch
	apis := make(map[string]reconcile.API, len(s.APIs))
	for tenant, api := range s.APIs {
		apis[tenant] = api
	}
	return reconcile.New(reconcile.Options{
		JS: s.Conn.JS, Names: s.Names, Ledger: s.Ledger, APIs: apis,
		Interval: t.ReconcileInterval, StuckAfter: t.StuckAfter, Window: t.ReconcileWindow,
		Logger: s.Log.With().Str("component", "reconciler").Logger(),
	})
}
