package app

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natsconn"
)

// Sync modes of the callback store, as doctor, /readyz, the
// qyshook_nats_sync_mode metric and the admin overview name them.
const (
	SyncGrouped = "grouped" // embedded: one sync of the store's written files per group of publishes, each waited for
	// SyncGroupedSyncfs: grouped, each group flushed by syncfs(2) of the
	// store's file system (QYSHOOK_NATS_SYNC=grouped-syncfs, or no inotify).
	SyncGroupedSyncfs = embeddednats.ModeGroupedSyncfs
	SyncEachWrite     = "each-write" // embedded: nats-server fsyncs each write
	SyncInterval      = "interval"   // embedded: nats-server's periodic flush (power loss can lose acknowledged writes)
	SyncExternal      = "external"   // an external NATS: its own sync policy, not qyshook's
)

// SyncInfo is the durability in force for the callback store.
type SyncInfo struct {
	// Mode is one of the Sync* constants.
	Mode string
	// Interval is the flush interval in mode SyncInterval.
	Interval time.Duration
	// NotGrouped says why a synced embedded store is not grouped ("" when
	// it is, or not synced per write).
	NotGrouped string
	// ListenAccess is what the embedded server's client port allows
	// ("subscribe", "publish"; "" without a port).
	ListenAccess string
}

// String is the mode with its interval or the reason it is not grouped.
func (i SyncInfo) String() string {
	var b strings.Builder
	b.WriteString(i.Mode)
	if i.Mode == SyncInterval {
		b.WriteString(" " + i.Interval.String())
	}
	if i.NotGrouped != "" {
		b.WriteString(" (not grouped: " + i.NotGrouped + ")")
	}
	switch i.ListenAccess {
	case config.AccessSubscribe:
		b.WriteString("; client port for subscribers only")
	case config.AccessPublish:
		b.WriteString("; client port for publishers")
	}
	return b.String()
}

// syncInfoOf reads the mode in force from a connection.
func syncInfoOf(c *natsconn.Conn) SyncInfo {
	if c == nil || c.Embedded == nil {
		return SyncInfo{Mode: SyncExternal}
	}
	return embeddedSyncInfo(c.Embedded.SyncMode(), c.Embedded.SyncReason(), c.Embedded.ListenAccess())
}

func embeddedSyncInfo(mode, reason, access string) SyncInfo {
	i := SyncInfo{Mode: mode, NotGrouped: reason, ListenAccess: access}
	if mode != SyncGrouped && mode != SyncGroupedSyncfs && mode != SyncEachWrite {
		i.Mode = SyncInterval
		i.Interval, _ = time.ParseDuration(mode)
		i.NotGrouped = ""
	}
	if reason == "asked for" {
		i.NotGrouped = "asked for (" + config.Prefix + "NATS_SYNC=" + config.SyncEachWrite + ")"
	}
	return i
}

// plannedSyncInfo is the mode serve would run the embedded store in with
// cfg (for doctor, which does not open the store serve holds).
func plannedSyncInfo(cfg *config.Config) SyncInfo {
	o := embeddednats.Options{StoreDir: cfg.EmbeddedStoreDir(), ListenAddr: cfg.EmbeddedNATSAddr,
		ListenPublish: cfg.EmbeddedNATSPublish, SyncInterval: cfg.NATSSyncInterval}
	if cfg.NATSSyncEachWrite {
		o.SyncInterval = embeddednats.SyncEachWrite
	} else if cfg.NATSSyncFS {
		o.SyncInterval = embeddednats.SyncGroupedFS
	}
	mode, reason := embeddednats.PlanSync(o)
	access := ""
	if cfg.EmbeddedNATSAddr != "" {
		access = config.AccessSubscribe
		if cfg.EmbeddedNATSPublish {
			access = config.AccessPublish
		}
	}
	return embeddedSyncInfo(mode, reason, access)
}

// readyDetails are the /readyz details: the sync mode in force (codes
// only: the reason it is not grouped is in doctor and the overview).
func (i SyncInfo) readyDetails() map[string]string {
	d := map[string]string{"nats_sync": i.Mode}
	if i.Mode == SyncInterval {
		d["nats_sync_interval"] = i.Interval.String()
	}
	if i.ListenAccess != "" {
		d["nats_listen_access"] = i.ListenAccess
	}
	return d
}

// registerSyncMode exports qyshook_nats_sync_mode{mode} 1.
func registerSyncMode(reg prometheus.Registerer, i SyncInfo) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "qyshook_nats_sync_mode",
		Help: "The callback store's sync mode in force (1): grouped, grouped-syncfs, each-write, interval (power loss can lose acknowledged callbacks) or external (the NATS server's own policy)."},
		[]string{"mode"})
	g.WithLabelValues(i.Mode).Set(1)
	reg.MustRegister(g)
}
