package store

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry is one audited write of the admin API.
type AuditEntry struct {
	ID int64
	At time.Time
	// Who is the token's role and a fingerprint of it (never the token).
	Who string
	// Action is the route, e.g. "POST /dead-letters/{id}/retry".
	Action string
	// Selector is what the request selected, as a JSON object.
	Selector json.RawMessage
	// Count is how many dead letters, events… it acted on.
	Count int64
	// Outcome is "ok", "accepted" (a background job started) or the error.
	Outcome string
	// JobID names the background job a write started ("" when none).
	JobID string
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	// BeforeID lists entries with a smaller id (keyset pagination); 0: from the newest.
	BeforeID int64
	// Limit <= 0: no limit.
	Limit int
}

// ReconcileRun is one reconcile pass started from the admin API.
type ReconcileRun struct {
	ID         string
	StartedAt  time.Time
	FinishedAt *time.Time
	// StartedBy is who asked for it (as AuditEntry.Who).
	StartedBy string
	// Since is the start of the window of published contracts listed.
	Since     time.Time
	Checked   int64
	Triggered int64
	Requeued  int64
	// CertificationsChecked counts the pending certifications the
	// certification-result API confirmed a state for;
	// CertificationsUnconfirmed those it could not confirm, and
	// UnconfirmedCertifications their request ids (the first
	// MaxUnconfirmedIDs). Checked counts contracts only.
	CertificationsChecked     int64
	CertificationsUnconfirmed int64
	UnconfirmedCertifications []string
	// Error is why the pass ended early or partly failed ("" when it did not).
	Error string
}

// AdminLog is what the admin API records: the audit trail of its writes
// and the reconcile passes it started. The SQL ledgers implement it beside
// Ledger (a Ledger value can be asserted to AdminLog).
type AdminLog interface {
	// AddAudit records e (At defaults to now) and returns its id.
	AddAudit(ctx context.Context, e AuditEntry) (int64, error)
	// Audit lists entries newest first.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// SaveReconcileRun inserts the run, or updates the row with its id.
	SaveReconcileRun(ctx context.Context, r ReconcileRun) error
	// ReconcileRuns lists runs, newest first (limit <= 0: all).
	ReconcileRuns(ctx context.Context, limit int) ([]ReconcileRun, error)
	// Counts counts contracts by tenant and status, and certifications by
	// tenant (the admin overview).
	Counts(ctx context.Context) (Counts, error)
	CertificationCounter
}

// MaxUnconfirmedIDs bounds ReconcileRun.UnconfirmedCertifications (as
// reconcile.MaxReportedIDs bounds the report's).
const MaxUnconfirmedIDs = 100

// CertificationCounter counts the certifications an operator must look at,
// from indexes holding those rows alone (the overview and the
// qyshook_certifications gauges read it on every request or scrape).
type CertificationCounter interface {
	// CertificationCounts counts by tenant the unconfirmed certifications
	// (not confirmed by the certification-result API) and the pending ones
	// (the reconciler still polls them).
	CertificationCounts(ctx context.Context) (CertificationCounts, error)
}

// CertificationCounts is CertificationCounter's answer; a tenant without
// such rows is absent.
type CertificationCounts struct {
	Unconfirmed map[string]int64
	Pending     map[string]int64
}

// Counts is the ledger's size by tenant.
type Counts struct {
	// Contracts counts contracts by tenant, then status.
	Contracts map[string]map[string]int64
	// Certifications counts certifications by tenant.
	Certifications map[string]int64
	// UnconfirmedCertifications and PendingCertifications count by tenant
	// the certifications not confirmed by the API and those the
	// reconciler still polls (see CertificationCounts).
	UnconfirmedCertifications map[string]int64
	PendingCertifications     map[string]int64
}
