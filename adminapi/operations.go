package adminapi

import (
	"bytes"
	"encoding/json"
	"time"
)

// RetryRequest is the body of POST /dead-letters/retry: the dead letters
// of a tenant, of a consumer, of one issue (a DeadLetterIssue's Key), or
// (All) every one. DryRun counts and lists them without retrying.
type RetryRequest struct {
	Tenant   string `json:"tenant"`
	Consumer string `json:"consumer"`
	Issue    string `json:"issue,omitempty"`
	All      bool   `json:"all"`
	DryRun   bool   `json:"dry_run,omitempty"`
}

// RetryResult is the answer of a dead-letter retry (POST
// /dead-letters/retry and /dead-letters/{id}/retry).
type RetryResult struct {
	Job         string      `json:"job"`
	Selected    int         `json:"selected"`
	Republished int         `json:"republished"`
	Duplicates  int         `json:"duplicates"`
	Failed      int         `json:"failed"`
	Undecodable int         `json:"undecodable"`
	Items       []RetryItem `json:"items"`
}

// RetryItem is one dead letter of a RetryResult.
type RetryItem struct {
	ID         int64  `json:"id"`
	EventID    string `json:"event_id,omitempty"`
	Tenant     string `json:"tenant,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Type       string `json:"type,omitempty"`
	ContractID string `json:"contract_id,omitempty"`
	ReplayID   string `json:"replay_id,omitempty"`
	Result     string `json:"result"`
	Error      string `json:"error,omitempty"`
}

// PurgeRequest is the body of POST /dead-letters/{id}/purge.
type PurgeRequest struct {
	// Reason says why the event is dropped without being applied
	// (required; audited).
	Reason string `json:"reason"`
}

// PurgeResult is the answer of POST /dead-letters/{id}/purge.
type PurgeResult struct {
	Purged int `json:"purged"`
}

// ReplaySelector selects the events of a replay. Zero fields select
// everything; set fields combine with AND; at least one must be set
// (FromSeq 1 selects the whole stream). From and To are RFC 3339 times,
// From inclusive and To exclusive.
type ReplaySelector struct {
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	FromSeq    uint64 `json:"from_seq,omitempty"`
	ToSeq      uint64 `json:"to_seq,omitempty"`
	Tenant     string `json:"tenant,omitempty"`
	ContractID string `json:"contract_id,omitempty"`
	Type       string `json:"type,omitempty"`
}

// ReplayRequest is the body of POST /replays: a dry run (DryRun), or a
// run confirmed with the Confirm token of a dry run of the same selector.
type ReplayRequest struct {
	Selector *ReplaySelector `json:"selector"`
	DryRun   bool            `json:"dry_run,omitempty"`
	Confirm  string          `json:"confirm,omitempty"`
}

// DryRun is the answer of a replay's dry run: what would be republished,
// and the token that confirms the run until ExpiresAt.
type DryRun struct {
	DryRun         bool              `json:"dry_run"`
	Selector       ReplaySelector    `json:"selector"`
	Scanned        int               `json:"scanned"`
	Selected       int               `json:"selected"`
	Undecodable    int               `json:"undecodable"`
	SkippedReplays int               `json:"skipped_replays"`
	ByTenant       map[string]int    `json:"by_tenant"`
	ByType         map[string]int    `json:"by_type"`
	Confirm        string            `json:"confirm"`
	ExpiresAt      time.Time         `json:"expires_at"`
	Errors         []ReplayItemError `json:"errors,omitempty"`
}

// ReplayItemError is one event of a replay that failed or could not be
// decoded.
type ReplayItemError struct {
	Seq          uint64 `json:"seq,omitempty"`
	DeadLetterID int64  `json:"dead_letter_id,omitempty"`
	EventID      string `json:"event_id,omitempty"`
	ContractID   string `json:"contract_id,omitempty"`
	Error        string `json:"error"`
}

// Job states.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is a background job of the admin API's process: a replay (POST
// /replays, GET /replays, /replays/{id}) or a reconcile pass (POST
// /reconcile). Report is set once a replay job finished: decode it with
// ReplayReport. (A reconcile pass's figures are read from GET
// /reconcile-runs: its job is shown only as POST /reconcile answers it,
// running.)
type Job struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"` // replay or reconcile
	State       string          `json:"state"`
	StartedBy   string          `json:"started_by"`
	Selector    json.RawMessage `json:"selector,omitempty"`
	Selected    int             `json:"selected"`
	Republished int             `json:"republished"`
	Duplicates  int             `json:"duplicates"`
	Failed      int             `json:"failed"`
	Progress    JobProgress     `json:"progress"`
	StartedAt   time.Time       `json:"started_at"`
	FinishedAt  *time.Time      `json:"finished_at"`
	Error       string          `json:"error,omitempty"`
	Report      json.RawMessage `json:"report,omitempty"`
}

// JobProgress counts the events a job has handled of its total.
type JobProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// ReplayReport decodes the Report of a finished replay job (nil while it
// runs).
func (j Job) ReplayReport() (*ReplayReport, error) {
	if len(j.Report) == 0 || bytes.Equal(j.Report, []byte("null")) {
		return nil, nil
	}
	v := new(ReplayReport)
	if err := json.Unmarshal(j.Report, v); err != nil {
		return nil, err
	}
	return v, nil
}

// ReplayReport is what a replay job did.
type ReplayReport struct {
	Job    string `json:"job"`
	DryRun bool   `json:"dry_run"`
	// Scanned is how many messages (or dead letters) were read.
	Scanned int `json:"scanned"`
	// Selected is how many events matched the selector.
	Selected int `json:"selected"`
	// Republished is how many selected events were published.
	Republished int `json:"republished"`
	// Duplicates is how many this job had republished already.
	Duplicates int `json:"duplicates"`
	// Failed is how many selected events could not be published.
	Failed int `json:"failed"`
	// Undecodable is how many messages were not valid envelopes.
	Undecodable int `json:"undecodable"`
	// SkippedReplays is how many matching messages were themselves
	// replays (a stream replay republishes originals only).
	SkippedReplays int `json:"skipped_replays,omitempty"`
	// Errors lists the first failures and undecodable messages.
	Errors []ReplayItemError `json:"errors,omitempty"`
	// Items lists the selected events (dead-letter replays).
	Items []ReplayItem `json:"items,omitempty"`
}

// ReplayItem is one selected event of a ReplayReport.
type ReplayItem struct {
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time"`
	DeadLetterID int64     `json:"dead_letter_id,omitempty"`
	Tenant       string    `json:"tenant"`
	Kind         string    `json:"kind"`
	Type         string    `json:"type"`
	ContractID   string    `json:"contract_id,omitempty"`
	EventID      string    `json:"event_id"`
	ReplayID     string    `json:"replay_id,omitempty"`
	Result       string    `json:"result,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// ReconcileRequest is the body of POST /reconcile (optional): list the
// contracts published since Since (RFC 3339; default the service's
// reconcile window).
type ReconcileRequest struct {
	Since string `json:"since,omitempty"`
}

// ReconcileRun is a reconcile pass (GET /reconcile-runs, the overview's
// last_reconcile, the report of a reconcile Job).
type ReconcileRun struct {
	ID         string     `json:"id"`
	State      string     `json:"state"` // running, done or failed
	StartedBy  string     `json:"started_by"`
	Since      *time.Time `json:"since"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// Checked counts contracts; the certifications polled are counted
	// apart: confirmed by the API, and not (with their request ids, the
	// first 100).
	Checked                   int64    `json:"checked"`
	Triggered                 int64    `json:"triggered"`
	Requeued                  int64    `json:"requeued"`
	CertificationsChecked     int64    `json:"certifications_checked"`
	CertificationsUnconfirmed int64    `json:"certifications_unconfirmed"`
	UnconfirmedCertifications []string `json:"unconfirmed_certifications"`
	Error                     string   `json:"error,omitempty"`
}

// Overview is GET /overview. Stream figures are nil when NATS cannot be
// read (Errors says why).
type Overview struct {
	Tenants []TenantOverview `json:"tenants"`
	// DLQDepth is the messages in QYS_DLQ (what qyshook_dlq_depth reports).
	DLQDepth    *uint64        `json:"dlq_depth"`
	DeadLetters int            `json:"dead_letters"`
	Documents   DocumentCounts `json:"documents"`
	// Lag is the dispatcher consumer's pending messages.
	Lag *uint64 `json:"lag"`
	// CallbacksPerMin is the messages QYS_CALLBACKS stored in the last
	// minute.
	CallbacksPerMin *uint64        `json:"callbacks_per_min"`
	LastReconcile   *ReconcileRun  `json:"last_reconcile"`
	Running         map[string]int `json:"running_jobs"`
	// Unacked is the events delivered to the dispatcher and not yet
	// acknowledged (being worked or waiting for a retry), Redelivered
	// those of them delivered more than once: what is retrying now.
	Unacked     *uint64 `json:"unacked"`
	Redelivered *uint64 `json:"redelivered"`
	// Failing is what the dispatcher is retrying now, by cause, the
	// longest-failing first (empty when this process runs no dispatcher).
	Failing []FailingCause `json:"failing"`
	// Degraded says "platform API failing for N s" while it does, with
	// DegradedSince; /readyz's details say the same.
	Degraded      string     `json:"degraded,omitempty"`
	DegradedSince *time.Time `json:"degraded_since,omitempty"`
	// NATSSync is the callback store's sync mode in force (for example
	// "grouped; client port for subscribers only"); absent when the
	// process does not know it.
	NATSSync string            `json:"nats_sync,omitempty"`
	Errors   map[string]string `json:"errors,omitempty"`

	// Certifications counts, over every tenant, the certifications the
	// API has not confirmed and those the reconciler still polls.
	Certifications CertificationCounts `json:"certifications"`

	// Log is the receipt log's checkpoints (absent when the ledger keeps
	// none): the last anchored one and its age.
	Log *LogStatus `json:"log,omitempty"`
}

// TenantOverview is one tenant's figures in the Overview.
type TenantOverview struct {
	Tenant            string           `json:"tenant"`
	ContractsByStatus map[string]int64 `json:"contracts_by_status"`
	Certifications    int64            `json:"certifications"`

	UnconfirmedCertifications int64 `json:"unconfirmed_certifications"`
	PendingCertifications     int64 `json:"pending_certifications"`
}

// DocumentCounts counts the archive queue's documents by state.
type DocumentCounts struct {
	Archived int64 `json:"archived"`
	Failed   int64 `json:"failed"`
	Pending  int64 `json:"pending"`
}

// CertificationCounts are the Overview's certification figures.
type CertificationCounts struct {
	Unconfirmed int64 `json:"unconfirmed"`
	Pending     int64 `json:"pending"`
}
