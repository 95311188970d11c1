package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/internal/embeddednats"
)

// registerSyncMetrics exports the embedded store's group sync: how many
// syncs ran, how many publishes waited on them (their ratio is the group
// size), how many failed and the time spent. Nothing is registered when
// the store syncs by itself (gs nil).
func registerSyncMetrics(reg prometheus.Registerer, gs *embeddednats.GroupSync) {
	if gs == nil {
		return
	}
	counter := func(name, help string, v func(embeddednats.SyncStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return v(gs.Stats()) })
	}
	reg.MustRegister(
		counter("qyshook_nats_store_syncs_total", "Syncs of the embedded NATS store (QYSHOOK_NATS_SYNC=always, grouped).",
			func(s embeddednats.SyncStats) float64 { return float64(s.Rounds) }),
		counter("qyshook_nats_store_sync_waits_total", "Publishes that waited for a sync of the embedded store; ÷ syncs is the group size.",
			func(s embeddednats.SyncStats) float64 { return float64(s.Waits) }),
		counter("qyshook_nats_store_sync_failures_total", "Syncs of the embedded NATS store that failed (the publishes waiting on them were answered as failed).",
			func(s embeddednats.SyncStats) float64 { return float64(s.Failed) }),
		counter("qyshook_nats_store_sync_seconds_total", "Time spent syncing the embedded NATS store.",
			func(s embeddednats.SyncStats) float64 { return s.Time.Seconds() }),
		counter("qyshook_nats_store_sync_files_total", "Files of the embedded store fdatasynced by its syncs (mode grouped: the files nats-server wrote since the previous sync).",
			func(s embeddednats.SyncStats) float64 { return float64(s.Files) }),
		counter("qyshook_nats_store_sync_dirs_total", "Directories of the embedded store fsynced by its syncs (mode grouped: entries created, renamed or removed).",
			func(s embeddednats.SyncStats) float64 { return float64(s.Dirs) }),
		counter("qyshook_nats_store_sync_full_total", "Syncs of every file of the embedded store (mode grouped: the first, and after an inotify queue overflow).",
			func(s embeddednats.SyncStats) float64 { return float64(s.FullPasses) }),
		counter("qyshook_nats_store_sync_syncfs_fallback_total", "Syncs of the embedded store made by syncfs of its file system because a directory could not be watched (mode grouped; raise fs.inotify.max_user_watches).",
			func(s embeddednats.SyncStats) float64 { return float64(s.Syncfs) }),
	)
}
