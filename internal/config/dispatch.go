package config

import "time"

// Dispatch tunes the dispatcher and the reconciler.
type Dispatch struct {
	// MaxDeliver bounds deliveries of one event before it is dead-lettered
	// (QYSHOOK_MAX_DELIVER, default 8).
	MaxDeliver int
	// Workers is how many contracts are processed at once
	// (QYSHOOK_DISPATCH_WORKERS, default 16).
	Workers int
	// AckWait is how long a delivery may go without an acknowledgement or
	// a heartbeat before JetStream redelivers it, e.g. after a dispatcher
	// crashed (QYSHOOK_ACK_WAIT, default 30s).
	AckWait time.Duration
	// ArchiveBundle also archives the signed bundle, contract and sign log,
	// as a zip (QYSHOOK_ARCHIVE_BUNDLE, default false).
	ArchiveBundle bool
	// ArchiveOperationLog also archives each signed contract's operation
	// log (GET /v2/contract/stream) as "<id>.oplog", a JSON file
	// (QYSHOOK_ARCHIVE_OPLOG, default true).
	ArchiveOperationLog bool
	// ArchiveWorkers is how many documents the archive stage downloads at
	// once, per dispatcher process (QYSHOOK_ARCHIVE_WORKERS, default 4,
	// 1 to 64).
	ArchiveWorkers int
	// DownloadTimeout bounds one document download
	// (QYSHOOK_DOWNLOAD_TIMEOUT, default 30m, 10s to 6h).
	DownloadTimeout time.Duration
	// ReconcileInterval is the time between reconciliation passes; 0
	// disables them (QYSHOOK_RECONCILE_INTERVAL, default 10m).
	ReconcileInterval time.Duration
	// StuckAfter: non-terminal contracts not updated for this long are
	// re-checked (QYSHOOK_RECONCILE_STUCK_AFTER, default 1h).
	StuckAfter time.Duration
	// ReconcileWindow: the contracts published in this recent window are
	// listed and compared (QYSHOOK_RECONCILE_WINDOW, default 72h).
	ReconcileWindow time.Duration
	// ShutdownTimeout bounds how long the batch in hand may run after the
	// stop signal; past it the work is cancelled and its unsettled
	// messages are left for redelivery (QYSHOOK_SHUTDOWN_TIMEOUT, default
	// 30s, 1s to 10m).
	ShutdownTimeout time.Duration
	// CallbackRetention is how long worked callbacks stay in QYS_CALLBACKS
	// for replays (QYSHOOK_CALLBACK_RETENTION, default 720h, 1h to 8760h).
	CallbackRetention time.Duration
}

// Bounds of Dispatch.ShutdownTimeout.
const (
	DefaultShutdownTimeout = 30 * time.Second
	MinShutdownTimeout     = time.Second
	MaxShutdownTimeout     = 10 * time.Minute
)

func (e envReader) dispatch() Dispatch {
	d := Dispatch{
		MaxDeliver:          int(e.integer("MAX_DELIVER", 8)),
		Workers:             int(e.integer("DISPATCH_WORKERS", 16)),
		AckWait:             e.duration("ACK_WAIT", 30*time.Second),
		ArchiveBundle:       e.boolean("ARCHIVE_BUNDLE"),
		ArchiveOperationLog: e.str("ARCHIVE_OPLOG", "") == "" || e.boolean("ARCHIVE_OPLOG"),
		ArchiveWorkers:      int(e.integer("ARCHIVE_WORKERS", 4)),
		DownloadTimeout:     e.duration("DOWNLOAD_TIMEOUT", 30*time.Minute),
		ReconcileInterval:   e.duration("RECONCILE_INTERVAL", 10*time.Minute),
		StuckAfter:          e.duration("RECONCILE_STUCK_AFTER", time.Hour),
		ReconcileWindow:     e.duration("RECONCILE_WINDOW", 72*time.Hour),
		ShutdownTimeout:     e.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout),
		CallbackRetention:   e.duration("CALLBACK_RETENTION", 720*time.Hour),
	}
	if d.CallbackRetention < time.Hour || d.CallbackRetention > 8760*time.Hour {
		e.problem("CALLBACK_RETENTION", "must be %v to %v", time.Hour, 8760*time.Hour)
	}
	if d.ShutdownTimeout < MinShutdownTimeout || d.ShutdownTimeout > MaxShutdownTimeout {
		e.problem("SHUTDOWN_TIMEOUT", "must be %v to %v", MinShutdownTimeout, MaxShutdownTimeout)
	}
	if d.MaxDeliver < 1 {
		e.problem("MAX_DELIVER", "must be at least 1")
	}
	if d.Workers < 1 {
		e.problem("DISPATCH_WORKERS", "must be at least 1")
	}
	if d.AckWait < time.Second {
		e.problem("ACK_WAIT", "must be at least 1s")
	}
	if d.ArchiveWorkers < 1 || d.ArchiveWorkers > 64 {
		e.problem("ARCHIVE_WORKERS", "must be between 1 and 64")
	}
	if d.DownloadTimeout < 10*time.Second || d.DownloadTimeout > 6*time.Hour {
		e.problem("DOWNLOAD_TIMEOUT", "must be between 10s and 6h")
	}
	if d.ReconcileInterval < 0 || d.StuckAfter < 0 || d.ReconcileWindow < 0 {
		e.problem("RECONCILE_*", "durations must not be negative")
	}
	return d
}
