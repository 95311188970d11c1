package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
)

// Prefix starts the name of every environment variable qyshook reads.
const Prefix = "QYSHOOK_"

// Defaults.
const (
	// DefaultReceiverAddr is the receiver's HTTP address.
	DefaultReceiverAddr = ":8080"
	// DefaultDispatcherAddr is the dispatcher's HTTP address (health and
	// metrics); pass WithDefaultHTTPAddr(DefaultDispatcherAddr) to Load.
	DefaultDispatcherAddr = ":8081"
	// DefaultDataDir holds the embedded NATS store, the SQLite ledger and
	// the documents.
	DefaultDataDir = "./data"
	// DefaultQYSBaseURL is 契约锁's test platform.
	DefaultQYSBaseURL = "https://openapi.qiyuesuo.cn"
	// DefaultMaxConns caps the connections each HTTP listener holds open.
	DefaultMaxConns = 2048
	// DefaultIdleTimeout closes an idle keep-alive connection.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultReadHeaderTimeout bounds the wait for a request's headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultTimestampPast is how old a callback's signed timestamp may be
	// (契约锁 retries for about two days).
	DefaultTimestampPast = 72 * time.Hour
	// DefaultTimestampFuture tolerates clock skew.
	DefaultTimestampFuture = 5 * time.Minute
	// DefaultTenant is the name of the tenant the environment variables make.
	DefaultTenant = "default"
	// SecretLen is the length of a 契约锁 callback secret (an AES-128 key).
	SecretLen = 16
)

// Need is a set of settings a process cannot start without.
type Need uint8

// Needs, combined with |.
const (
	// NeedCallbackSecrets: every tenant has a callback secret (or allows
	// unsigned callbacks). The receiver needs it.
	NeedCallbackSecrets Need = 1 << iota
	// NeedQYSCredentials: every tenant has an app token and app secret for
	// the open API. The dispatcher needs it.
	NeedQYSCredentials
)

// Option adjusts how Load fills defaults and what Validate requires.
type Option func(*Config)

// WithDefaultHTTPAddr sets the HTTP address used when QYSHOOK_HTTP_ADDR is
// unset (the dispatcher passes DefaultDispatcherAddr).
func WithDefaultHTTPAddr(addr string) Option { return func(c *Config) { c.HTTPAddr = addr } }

// WithNeeds replaces what Validate requires (default NeedCallbackSecrets).
// Use 0 for tools that need neither, such as replay.
func WithNeeds(n Need) Option { return func(c *Config) { c.needs = n } }

// QYSHOOK_EMBEDDED_NATS_ACCESS values: what the embedded server's client
// port lets its clients do.
const (
	AccessSubscribe = "subscribe"
	AccessPublish   = "publish"
)

// SyncEachWrite is the QYSHOOK_NATS_SYNC value for nats-server's own
// fsync of each write.
const SyncEachWrite = "each-write"

// SyncGroupedSyncfs is the QYSHOOK_NATS_SYNC value for grouped syncs by
// syncfs(2) of the store's whole file system, as before the grouped sync
// flushed only the store's own files.
const SyncGroupedSyncfs = "grouped-syncfs"

// Config is the whole configuration of a qyshook process.
type Config struct {
	// HTTPAddr is where the process serves HTTP (QYSHOOK_HTTP_ADDR).
	HTTPAddr string
	// HTTP limits the connections of the HTTP listeners (callbacks and
	// probes, and the admin API's).
	HTTP HTTPLimits
	// NATSURL is the NATS server to use; empty starts an embedded JetStream
	// server stored under DataDir/nats (QYSHOOK_NATS_URL).
	NATSURL string
	// EmbeddedNATSAddr, e.g. "127.0.0.1:4223", lets the embedded server
	// accept TCP clients such as a separate dispatcher; empty keeps it
	// in-process (QYSHOOK_EMBEDDED_NATS_ADDR).
	EmbeddedNATSAddr string
	// EmbeddedNATSPublish lets that port's clients publish
	// (QYSHOOK_EMBEDDED_NATS_ACCESS=publish). Without it (subscribe, the
	// default) they may only subscribe and consume and the store keeps
	// its grouped sync; with it a synced store fsyncs each write.
	EmbeddedNATSPublish bool
	// NATSNamespace prefixes every stream, subject and durable name
	// (QYSHOOK_NATS_NAMESPACE).
	NATSNamespace string
	// NATSSyncInterval is how often the embedded NATS server fsyncs its
	// store; 0 (QYSHOOK_NATS_SYNC=always, the default) makes every write
	// durable before it is used: in-process on Linux by one sync of the
	// store per group of writes, else by nats-server fsyncing each write.
	// An interval is faster but a power loss can lose callbacks already
	// answered "success" (QYSHOOK_NATS_SYNC).
	NATSSyncInterval time.Duration
	// NATSSyncEachWrite (QYSHOOK_NATS_SYNC=each-write) makes nats-server
	// fsync each write itself, never grouped.
	NATSSyncEachWrite bool
	// NATSSyncFS (QYSHOOK_NATS_SYNC=grouped-syncfs) flushes each group by
	// syncfs(2) of the store's file system instead of the store's own files.
	NATSSyncFS bool
	// DB is the ledger database URL, sqlite://path or postgres://… (QYSHOOK_DB).
	DB Secret
	// SQLiteCache is a SQLite ledger's page cache for writing, in bytes
	// (QYSHOOK_SQLITE_CACHE, default store/sqlite.DefaultCacheSize).
	SQLiteCache int64
	// DataDir holds local state (QYSHOOK_DATA_DIR, default ./data).
	DataDir string
	// LogLevel is the minimum log level (QYSHOOK_LOG_LEVEL, default info).
	LogLevel zerolog.Level
	// MaxBody caps a callback body in bytes (QYSHOOK_MAX_BODY, default 1 MiB).
	MaxBody int64
	// PublishTimeout bounds the wait for a PubAck (QYSHOOK_PUBLISH_TIMEOUT).
	PublishTimeout time.Duration
	// Window bounds the age of a callback's signed timestamp
	// (QYSHOOK_TIMESTAMP_PAST, QYSHOOK_TIMESTAMP_FUTURE); all tenants share it.
	Window Window
	// Stream sizes the JetStream streams (QYSHOOK_STREAM_MAX_AGE,
	// QYSHOOK_STREAM_MAX_BYTES, QYSHOOK_DUPLICATE_WINDOW, QYSHOOK_STREAM_REPLICAS).
	Stream events.StreamSettings
	// Dispatch tunes the dispatcher and the reconciler.
	Dispatch Dispatch
	// Delivery tunes the delivery of facts to HTTP endpoints.
	Delivery Delivery
	// Admin configures the admin API (QYSHOOK_ADMIN_*, see admin.go).
	Admin Admin
	// Anchor configures the receipt log's checkpoints and their RFC 3161
	// time-stamps (QYSHOOK_LOG_*, QYSHOOK_TSA_*, see anchor.go).
	Anchor Anchor
	// File is the tenants file, when set (QYSHOOK_CONFIG).
	File string
	// Tenants are the configured tenants: "default" from the environment
	// variables, then those of File, in file order.
	Tenants []Tenant

	// APICheck is what start-up does when the open API refuses a tenant's
	// credentials on its one signed call (QYSHOOK_API_CHECK): "stop" (the
	// default) ends start-up with one line; "warn" keeps the receiver up,
	// holds the dispatcher and has /readyz answer api_credentials_refused;
	// "off" skips the call.
	APICheck string
	// APIBudget is the per-process budget toward the open API that every
	// tenant gets unless its [tenant.qys] sets its own
	// (QYSHOOK_API_RATE, QYSHOOK_API_INFLIGHT).
	APIBudget APIBudget

	needs    Need
	problems []error
}

// APIBudget is one process's budget of open-API requests for one tenant:
// each tenant gets its own, shared by all of that process's work for it.
type APIBudget struct {
	// Rate is requests per second; 0 means no rate limit.
	Rate int
	// InFlight is requests under way at once; 0 means no bound.
	InFlight int
}

// HTTPLimits bound what clients can hold on each HTTP listener.
type HTTPLimits struct {
	// MaxConns is the most connections one listener holds open at once;
	// more are answered 503 and closed (QYSHOOK_MAX_CONNS, default 2048).
	MaxConns int
	// IdleTimeout closes a keep-alive connection idle that long
	// (QYSHOOK_IDLE_TIMEOUT, default 30s).
	IdleTimeout time.Duration
	// ReadHeaderTimeout closes a connection whose request headers take
	// longer (QYSHOOK_READ_HEADER_TIMEOUT, default 5s).
	ReadHeaderTimeout time.Duration
}

// Bounds of QYSHOOK_MAX_CONNS.
const (
	MinMaxConns = 16
	MaxMaxConns = 65536
)

// Window bounds a callback timestamp: at most Past old, at most Future ahead.
type Window struct {
	Past   time.Duration
	Future time.Duration
}

// Names returns the stream and subject names of the configured namespace.
func (c *Config) Names() (events.Names, error) { return events.NewNames(c.NATSNamespace) }

// EmbeddedStoreDir is where the embedded NATS server keeps its store.
func (c *Config) EmbeddedStoreDir() string { return filepath.Join(c.DataDir, "nats") }

// Tenant returns the tenant named name.
func (c *Config) Tenant(name string) (*Tenant, bool) {
	for i := range c.Tenants {
		if c.Tenants[i].Name == name {
			return &c.Tenants[i], true
		}
	}
	return nil, false
}

// String describes the configuration with every secret redacted.
func (c *Config) String() string {
	b, err := json.Marshal(c)
	if err != nil {
		return "config: " + err.Error()
	}
	return string(b)
}

// Validate reports every problem of c at once, joined with errors.Join;
// each problem is one line naming the setting and never its secret value.
func (c *Config) Validate() error {
	errs := append([]error(nil), c.problems...)
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.HTTPAddr == "" {
		add("%sHTTP_ADDR: empty", Prefix)
	}
	if c.DataDir == "" {
		add("%sDATA_DIR: empty", Prefix)
	}
	if c.NATSNamespace != "" && !events.ValidToken(c.NATSNamespace) {
		add("%sNATS_NAMESPACE: only letters, digits, '-' and '_' (1-64 characters)", Prefix)
	}
	if db := c.DB.Reveal(); !strings.HasPrefix(db, "sqlite://") && !strings.HasPrefix(db, "postgres://") &&
		!strings.HasPrefix(db, "postgresql://") {
		add("%sDB: must start with sqlite://, postgres:// or postgresql://", Prefix)
	}
	if c.MaxBody <= 0 || c.MaxBody > qys.MaxCallbackBody {
		add("%sMAX_BODY: must be positive and at most %d bytes", Prefix, qys.MaxCallbackBody)
	}
	if c.HTTP.MaxConns < MinMaxConns || c.HTTP.MaxConns > MaxMaxConns {
		add("%sMAX_CONNS: must be %d to %d", Prefix, MinMaxConns, MaxMaxConns)
	}
	if c.PublishTimeout <= 0 {
		add("%sPUBLISH_TIMEOUT: must be positive", Prefix)
	}
	if c.Window.Past <= 0 || c.Window.Future < 0 {
		add("%sTIMESTAMP_PAST/FUTURE: past must be positive, future not negative", Prefix)
	}
	if c.Stream.Replicas < 0 || c.Stream.Replicas > 5 { // 0: unset, chosen at provisioning
		add("%sSTREAM_REPLICAS: must be 1 to 5", Prefix)
	}
	if len(c.Tenants) == 0 {
		add("no tenant: set %sCALLBACK_SECRET or %sCONFIG", Prefix, Prefix)
	}
	seen := map[string]bool{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		if seen[t.Name] {
			add("tenant %q: defined twice", t.Name)
		}
		seen[t.Name] = true
		errs = append(errs, t.validate(c.needs)...)
	}
	return errors.Join(errs...)
}
