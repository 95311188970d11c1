// Package reconcile is the reconciler stage: it brings the ledger to the
// 契约锁 API's truth for what callbacks never delivered. It walks stuck
// contracts oldest first, lists recently published contracts, and requeues
// documents the archive stage gave up on; it never writes contract state
// itself: each finding is a RECONCILE trigger published into QYS_CALLBACKS
// for the dispatchers to confirm and apply like any callback.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/confirm"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// TypeReconcile is the callbackType of the triggers the reconciler
// publishes; their source is events.SourceReconcile.
const TypeReconcile = "RECONCILE"

// Options configures a Reconciler.
type Options struct {
	JS     jetstream.JetStream
	Names  events.Names
	Ledger store.Ledger
	// APIs: only tenants with API credentials can be reconciled.
	APIs map[string]API
	// Interval between passes of Run (default 10 min).
	Interval time.Duration
	// StuckAfter: a non-terminal contract, or a pending certification
	// (store.Certification.Pending), not updated for this long is
	// re-checked (default 1 h).
	StuckAfter time.Duration
	// Window: Run lists the contracts published in this recent window
	// (default 72 h, the span 契约锁 retries over).
	Window time.Duration
	// PageSize for /v2/contract/list (default 100).
	PageSize int
	// StuckPage is how many stuck contracts one ledger read takes
	// (default 500).
	StuckPage int
	// RetryFailedAfter: a document whose download failed (see package
	// archiver) is queued again once its last attempt is this old
	// (default 24 h).
	RetryFailedAfter time.Duration
	Logger           zerolog.Logger
	Now              func() time.Time
}

// Reconciler brings the ledger to the API's truth for what callbacks
// never delivered.
type Reconciler struct {
	cfg Options

	mu sync.Mutex
	// certAfter is, per tenant, where the next pass's page of pending
	// certifications starts (nil: at the oldest), so rows that stay
	// pending for good (never submitted, unknown ids) cannot starve the
	// others.
	certAfter map[string]*store.CertKey
}

// Report says what one pass did.
type Report struct {
	Checked   int // contracts compared with the API
	Triggered int // new RECONCILE triggers published (repeats within the duplicate window not counted)
	Requeued  int // documents put back in the archive queue
	// CertificationsChecked counts the pending certifications the
	// certification-result API confirmed a state for.
	CertificationsChecked int
	// CertificationsUnconfirmed counts the pending certifications it could
	// not confirm (unknown to the API, an answer not recognised, or a
	// failed call); UnconfirmedCertifications holds their request ids
	// (the first MaxReportedIDs).
	CertificationsUnconfirmed int
	UnconfirmedCertifications []string
}

// MaxReportedIDs bounds Report.UnconfirmedCertifications.
const MaxReportedIDs = 100

// Defaults of Options.
const (
	DefaultInterval   = 10 * time.Minute
	DefaultStuckAfter = time.Hour
	DefaultWindow     = 72 * time.Hour
)

// New returns a Reconciler. JS and Ledger are required.
func New(cfg Options) (*Reconciler, error) {
	if cfg.JS == nil || cfg.Ledger == nil {
		return nil, errors.New("reconcile: JetStream and a ledger are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = DefaultStuckAfter
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.StuckPage <= 0 {
		cfg.StuckPage = 500
	}
	if cfg.RetryFailedAfter <= 0 {
		cfg.RetryFailedAfter = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reconciler{cfg: cfg}, nil
}

// Run reconciles every Interval until ctx is done.
func (r *Reconciler) Run(ctx context.Context) error {
	for backoff.Sleep(ctx, r.cfg.Interval) {
		rep, err := r.RunOnce(ctx, r.cfg.Now().Add(-r.cfg.Window))
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn().Err(err).Msg("reconcile pass failed")
			continue
		}
		r.cfg.Logger.Info().Int("checked", rep.Checked).Int("triggered", rep.Triggered).Int("requeued", rep.Requeued).
			Int("certifications_checked", rep.CertificationsChecked).
			Int("certifications_unconfirmed", rep.CertificationsUnconfirmed).Msg("reconcile pass")
	}
	return nil
}

var nonTerminal = []string{lifecycle.Draft, lifecycle.Filling, lifecycle.Signing, lifecycle.Invaliding, lifecycle.Terminating}

// RunOnce makes one pass: stuck contracts, the archive queue (failed and
// never-queued documents), the contracts published since `since`, and
// the pending certifications.
func (r *Reconciler) RunOnce(ctx context.Context, since time.Time) (Report, error) {
	var rep Report
	var errs []error
	for tenant, api := range r.cfg.APIs {
		if api == nil {
			continue
		}
		if err := r.stuck(ctx, tenant, api, &rep); err != nil {
			errs = append(errs, err)
		}
		if err := r.documents(ctx, tenant, since, &rep); err != nil {
			errs = append(errs, err)
		}
		if err := r.listed(ctx, tenant, api, since, &rep); err != nil {
			errs = append(errs, err)
		}
		if err := r.certifications(ctx, tenant, api, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// stuck re-checks the non-terminal contracts not updated for StuckAfter,
// oldest first and a page at a time, so the longest stuck are never
// starved by newer ones.
func (r *Reconciler) stuck(ctx context.Context, tenant string, api API, rep *Report) error {
	f := store.ContractFilter{
		Tenant: tenant, Status: nonTerminal, UpdatedBefore: r.cfg.Now().Add(-r.cfg.StuckAfter),
		OldestFirst: true, Limit: r.cfg.StuckPage,
	}
	for {
		rows, err := r.cfg.Ledger.Contracts(ctx, f)
		if err != nil {
			return fmt.Errorf("reconcile: stuck contracts: %w", err)
		}
		for _, row := range rows {
			if err := r.checkStuck(ctx, tenant, api, row, rep); err != nil {
				return err
			}
		}
		if len(rows) < f.Limit {
			return nil
		}
		f.After = store.CursorOf(rows[len(rows)-1])
	}
}

func (r *Reconciler) checkStuck(ctx context.Context, tenant string, api API, row store.Contract, rep *Report) error {
	fetchedAt := confirm.FetchTime(time.Now())
	detail, err := api.ContractDetail(ctx, qys.ContractQuery{ContractID: row.ID})
	fetchEndedAt := confirm.FetchTime(time.Now())
	if err != nil {
		// One contract the API will not answer must not stop the pass.
		if !errors.Is(err, qys.ErrNotFound) {
			r.cfg.Logger.Warn().Err(err).Str("contract_id", row.ID).Msg("reconcile: detail failed; skipped")
		}
		return ctx.Err()
	}
	rep.Checked++
	next := confirm.ContractFromDetail(tenant, detail)
	next.FetchedAt, next.FetchEndedAt = fetchedAt, fetchEndedAt // compared with the row's, as the ledger will
	// The whole row (signatories included: a listed row has none, and
	// every signed signatory would look like progress).
	full, err := r.cfg.Ledger.Contract(ctx, tenant, row.ID)
	if err != nil {
		return fmt.Errorf("reconcile: contract %s: %w", row.ID, err)
	}
	if store.Advances(full, &next) {
		return r.trigger(ctx, rep, tenant, row.ID, detail.Status, "stuck", confirm.ProgressKey(&next))
	}
	return nil
}

// signedStatuses are the statuses signed() accepts: their documents
// belong in the archive.
var signedStatuses = []string{lifecycle.Complete, lifecycle.Invaliding, lifecycle.Invalided,
	lifecycle.Terminating, lifecycle.Terminated}

// documents keeps the archive queue whole; the archive stage does the
// downloads. Documents that failed more than RetryFailedAfter ago, and
// the never-queued documents of signed contracts (committed before the
// queue existed), go back to pending. A signed contract without any
// document row is triggered, once a day, so its detail is read again.
func (r *Reconciler) documents(ctx context.Context, tenant string, since time.Time, rep *Report) error {
	n, err := r.cfg.Ledger.RequeueDocuments(ctx, tenant, signedStatuses, r.cfg.Now().Add(-r.cfg.RetryFailedAfter))
	if err != nil {
		return fmt.Errorf("reconcile: requeue documents: %w", err)
	}
	if n > 0 {
		rep.Requeued += int(n)
		r.cfg.Logger.Info().Str("tenant", tenant).Int64("documents", n).Msg("reconcile: documents queued for the archive again")
	}
	// Every signed contract updated in the window, a page at a time (a
	// fixed limit used to leave all but the newest 1,000 unchecked).
	f := store.ContractFilter{Tenant: tenant, Status: signedStatuses, UpdatedSince: since, OldestFirst: true, Limit: r.cfg.StuckPage}
	bucket := r.cfg.Now().UTC().Format("2006-01-02")
	for {
		rows, err := r.cfg.Ledger.Contracts(ctx, f)
		if err != nil {
			return fmt.Errorf("reconcile: signed contracts: %w", err)
		}
		for _, row := range rows {
			if !row.Confirmed {
				continue
			}
			c, err := r.cfg.Ledger.Contract(ctx, tenant, row.ID)
			if err != nil {
				return fmt.Errorf("reconcile: contract %s: %w", row.ID, err)
			}
			if len(c.Documents) == 0 {
				if err := r.trigger(ctx, rep, tenant, row.ID, c.Status, "documents", bucket); err != nil {
					return err
				}
			}
		}
		if len(rows) < f.Limit {
			return nil
		}
		f.After = store.CursorOf(rows[len(rows)-1])
	}
}

func (r *Reconciler) listed(ctx context.Context, tenant string, api API, since time.Time, rep *Report) error {
	for offset := 0; ; offset += r.cfg.PageSize {
		page, err := api.ListContracts(ctx, qys.ListQuery{
			Offset: offset, Limit: r.cfg.PageSize, PublishStart: since, PublishEnd: r.cfg.Now(), Order: "ASC",
		})
		if err != nil {
			return fmt.Errorf("reconcile: list: %w", err)
		}
		for _, item := range page.List {
			rep.Checked++
			row, err := r.cfg.Ledger.Contract(ctx, tenant, string(item.ID))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("reconcile: contract %s: %w", item.ID, err)
			}
			if row != nil && row.Status == item.Status && row.Confirmed {
				continue
			}
			if err := r.trigger(ctx, rep, tenant, string(item.ID), item.Status, "listed", ""); err != nil {
				return err
			}
		}
		if len(page.List) < r.cfg.PageSize || offset+len(page.List) >= page.TotalCount {
			return nil
		}
	}
}

// trigger publishes a RECONCILE event for one contract. Its id covers the
// state seen, so repeated passes over an unchanged contract collapse in
// the stream's duplicate window; only new triggers are counted.
func (r *Reconciler) trigger(ctx context.Context, rep *Report, tenant, contractID, status, why, extra string) error {
	payload, _ := json.Marshal(map[string]string{"reason": why, "status": status})
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: tenant, Kind: events.KindContract, Type: TypeReconcile,
		ContractID: contractID, ContractStatus: status, ReceivedAt: r.cfg.Now().UTC(), Format: "reconcile",
		Source: events.SourceReconcile, Payload: payload,
	}
	env.ID = events.EventID(tenant, events.KindContract, contractID, TypeReconcile, status, why+":"+extra)
	data, err := env.Encode()
	if err != nil {
		return fmt.Errorf("reconcile: encode: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	subj := r.cfg.Names.CallbackSubject(tenant, events.KindContract, TypeReconcile)
	ack, err := r.cfg.JS.Publish(pctx, subj, data, jetstream.WithMsgID(env.ID))
	if err != nil {
		return fmt.Errorf("reconcile: publish trigger %s: %w", contractID, err)
	}
	if ack.Duplicate {
		return nil
	}
	rep.Triggered++
	r.cfg.Logger.Info().Str("contract_id", contractID).Str("status", status).Str("why", why).Msg("reconcile trigger")
	return nil
}

// API is what the reconciler needs of the 契约锁 open API (*qys.Client).
type API interface {
	ContractDetail(ctx context.Context, q qys.ContractQuery) (*qys.Contract, error)
	ListContracts(ctx context.Context, q qys.ListQuery) (*qys.ContractPage, error)
}
