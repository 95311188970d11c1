package bench

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys/qystest"
)

// stackOptions configures a serve stack.
type stackOptions struct {
	// Dir is the data dir (required).
	Dir string
	// DB is "" or "sqlite" (a file under Dir), or a postgres:// URL, in
	// which a fresh schema is created and dropped.
	DB string
	// SyncInterval, when positive, is QYSHOOK_NATS_SYNC; zero syncs every
	// write (the default).
	SyncInterval time.Duration
	// Secret is the callback secret (format A, encrypted).
	Secret string
	// Fake is the 契约锁 the dispatcher confirms with; its time-stamping
	// authority anchors the receipt log's checkpoints (QYSHOOK_TSA_URLS).
	Fake *qystest.Server
	// CheckpointInterval, when positive, is QYSHOOK_LOG_CHECKPOINT_INTERVAL.
	CheckpointInterval time.Duration
	// DuplicateWindow, when positive, is QYSHOOK_DUPLICATE_WINDOW.
	DuplicateWindow time.Duration
}

// stack is what `qyshook serve` wires, in this process: the receiver on
// 127.0.0.1:0, the embedded NATS server, the ledger, the dispatcher and
// the archive stage, built by internal/app from a configuration made of
// QYSHOOK_* settings.
type stack struct {
	svc     *app.Services
	srv     *app.Server
	reg     *prometheus.Registry
	stages  []app.Stage
	dbURL   string
	sqlite  bool
	dataDir string

	mu       sync.Mutex
	stopWork func() error
	undo     []func()
}

func newStack(ctx context.Context, o stackOptions) (st *stack, err error) {
	st = &stack{dataDir: o.Dir}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	st.dbURL, st.sqlite = "sqlite://"+filepath.Join(o.Dir, "ledger.db"), true
	if o.DB != "" && o.DB != "sqlite" {
		u, drop, err := pgScratch(ctx, o.DB)
		if err != nil {
			return nil, err
		}
		st.undo = append(st.undo, drop)
		st.dbURL, st.sqlite = u, false
	}
	env := map[string]string{
		"DATA_DIR": o.Dir, "HTTP_ADDR": "127.0.0.1:0", "CALLBACK_SECRET": o.Secret, "DB": st.dbURL,
		"QYS_BASE_URL": o.Fake.URL, "QYS_APP_TOKEN": o.Fake.AppToken, "QYS_APP_SECRET": o.Fake.AppSecret,
		"LOG_LEVEL": "error", "TSA_URLS": o.Fake.URL + qystest.TSAPath,
	}
	if o.CheckpointInterval > 0 {
		env["LOG_CHECKPOINT_INTERVAL"] = o.CheckpointInterval.String()
	}
	if o.DuplicateWindow > 0 {
		env["DUPLICATE_WINDOW"] = o.DuplicateWindow.String()
	}
	if o.SyncInterval < 0 {
		env["NATS_SYNC"] = "each-write"
	}
	if o.SyncInterval > 0 {
		env["NATS_SYNC"] = o.SyncInterval.String()
	}
	cfg, err := config.Load(func(k string) string { return env[strings.TrimPrefix(k, config.Prefix)] })
	if err != nil {
		return nil, fmt.Errorf("bench: config: %w", err)
	}
	st.svc, err = app.Open(ctx, cfg, zerolog.Nop(), app.Parts{NATS: true, Ledger: true, Provision: true})
	if err != nil {
		return nil, err
	}
	st.undo = append(st.undo, func() { st.svc.Close() })
	st.reg = prometheus.NewRegistry()
	rc, err := st.svc.NewReceiver(st.reg)
	if err != nil {
		return nil, err
	}
	if st.stages, err = st.svc.Stages(st.reg, false); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", rc)
	st.srv = app.NewServer(cfg.HTTPAddr, mux, zerolog.Nop())
	if err := st.srv.Open(); err != nil {
		return nil, err
	}
	st.undo = append(st.undo, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.srv.Shutdown(sctx)
	})
	return st, nil
}

// callbackURL is the receiver's URL for the default tenant's route
// ("contract", "auth/personal" or "auth/company").
func (st *stack) callbackURL(route string) string {
	return st.srv.URL() + "/callbacks/" + config.DefaultTenant + "/" + route
}

// startDispatch runs the dispatcher's stages (dispatcher, archiver,
// trimmer, retention, relay) until stopDispatch or close.
func (st *stack) startDispatch() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopWork != nil {
		return
	}
	st.stopWork = app.StartStages(zerolog.Nop(), st.stages)
}

// stopDispatch stops the dispatcher and the archive stage and waits.
func (st *stack) stopDispatch() {
	st.mu.Lock()
	stop := st.stopWork
	st.stopWork = nil
	st.mu.Unlock()
	if stop != nil {
		_ = stop()
	}
}

// applied is the dispatcher's applied-events counter.
func (st *stack) applied() float64 { return applied(st.reg) }

// streamDir is the embedded NATS server's store.
func (st *stack) streamDir() string { return st.svc.Cfg.EmbeddedStoreDir() }

// ledgerBytes is the ledger's size on disk: the SQLite file with its WAL,
// or the PostgreSQL schema's tables and indexes.
func (st *stack) ledgerBytes(ctx context.Context) (int64, error) {
	if st.sqlite {
		path := strings.TrimPrefix(st.dbURL, "sqlite://")
		var n int64
		for _, suffix := range []string{"", "-wal", "-shm"} {
			n += DirSize(path + suffix)
		}
		return n, nil
	}
	return pgSchemaBytes(ctx, st.dbURL)
}

// close stops everything, in reverse order of opening.
func (st *stack) close() {
	st.stopDispatch()
	for i := len(st.undo) - 1; i >= 0; i-- {
		st.undo[i]()
	}
}
