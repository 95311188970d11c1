package config

import (
	"strconv"
	"strings"
	"time"
)

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
	// ArchiveItems are the /v2/contract/download items archived besides
	// the signed PDFs, each as it is downloaded (QYSHOOK_ARCHIVE_ITEMS,
	// comma-separated, default ATTACHMENT,NOTARY,ENDSIGN_ATTACHMENT;
	// "none" for none): attachments and the 存证报告 of signed contracts,
	// forced-end attachments of forced-end ones.
	ArchiveItems []string
	// ArchiveItemRefusalCodes are the API codes read as the platform
	// refusing an item (no such file, a service not enabled): recorded
	// failed at once with its answer (QYSHOOK_ARCHIVE_ITEM_REFUSAL_CODES,
	// comma-separated; empty: every answer with a code that is not a rate
	// limit or a server fault).
	ArchiveItemRefusalCodes []int
	// ArchiveValidation archives, beside every signed PDF, the material its
	// verification rests on: certificate chains and the OCSP and CRL
	// answers fetched then (QYSHOOK_ARCHIVE_VALIDATION, default true).
	ArchiveValidation bool
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
	// LedgerRetention is how long applied events stay in the ledger; the
	// dispatcher deletes older ones in small batches, keeping each
	// contract's newest event and the events dead letters name
	// (QYSHOOK_LEDGER_RETENTION, default 2160h, 168h to 87600h; 0 keeps
	// them all, read as a negative duration).
	LedgerRetention time.Duration
	// OutboxRetention is how long published facts stay in the outbox
	// (QYSHOOK_OUTBOX_RETENTION, default 168h, 1h to 87600h; 0 keeps them
	// all, read as a negative duration). Unpublished facts always stay.
	OutboxRetention time.Duration
}

// Bounds of Dispatch.ShutdownTimeout (its default is the dispatcher's,
// dispatcher.DefaultShutdownTimeout).
const (
	MinShutdownTimeout = time.Second
	MaxShutdownTimeout = 10 * time.Minute
)

func (e envReader) dispatch() Dispatch {
	d := Dispatch{
		MaxDeliver:              int(e.integer("MAX_DELIVER", 8)),
		Workers:                 int(e.integer("DISPATCH_WORKERS", 16)),
		AckWait:                 e.duration("ACK_WAIT"),
		ArchiveBundle:           e.boolean("ARCHIVE_BUNDLE"),
		ArchiveOperationLog:     e.str("ARCHIVE_OPLOG", "") == "" || e.boolean("ARCHIVE_OPLOG"),
		ArchiveItems:            e.archiveItems(),
		ArchiveItemRefusalCodes: e.codes("ARCHIVE_ITEM_REFUSAL_CODES"),
		ArchiveValidation:       e.str("ARCHIVE_VALIDATION", "") == "" || e.boolean("ARCHIVE_VALIDATION"),
		ArchiveWorkers:          int(e.integer("ARCHIVE_WORKERS", 4)),
		DownloadTimeout:         e.duration("DOWNLOAD_TIMEOUT"),
		ReconcileInterval:       e.duration("RECONCILE_INTERVAL"),
		StuckAfter:              e.duration("RECONCILE_STUCK_AFTER"),
		ReconcileWindow:         e.duration("RECONCILE_WINDOW"),
		ShutdownTimeout:         e.duration("SHUTDOWN_TIMEOUT"),
		CallbackRetention:       e.duration("CALLBACK_RETENTION"),
		LedgerRetention:         e.duration("LEDGER_RETENTION"),
		OutboxRetention:         e.duration("OUTBOX_RETENTION"),
	}
	if d.MaxDeliver < 1 {
		e.problem("MAX_DELIVER", "must be at least 1")
	}
	if d.Workers < 1 {
		e.problem("DISPATCH_WORKERS", "must be at least 1")
	}
	return d
}

// archiveItems reads QYSHOOK_ARCHIVE_ITEMS.
func (e envReader) archiveItems() []string {
	v := e.str("ARCHIVE_ITEMS", "ATTACHMENT,NOTARY,ENDSIGN_ATTACHMENT")
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		return nil
	}
	var out []string
	for it := range strings.SplitSeq(v, ",") {
		it = strings.ToUpper(strings.TrimSpace(it))
		switch it {
		case "":
		case "ATTACHMENT", "NOTARY", "ENDSIGN_ATTACHMENT":
			out = append(out, it)
		default:
			e.problem("ARCHIVE_ITEMS", "unknown item %q (want ATTACHMENT, NOTARY, ENDSIGN_ATTACHMENT or none)", it)
		}
	}
	return out
}

// codes reads a comma-separated list of API codes (empty: nil).
func (e envReader) codes(name string) []int {
	var out []int
	for c := range strings.SplitSeq(e.str(name, ""), ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		n, err := strconv.Atoi(c)
		if err != nil {
			e.problem(name, "%q is not a number", c)
			continue
		}
		out = append(out, n)
	}
	return out
}
