package archiver

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/crosscheck"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// DefaultDownloadTimeout bounds one download and its storing.
const DefaultDownloadTimeout = 30 * time.Minute

// StreamAPI is the operation-log call an API needs for store.OplogSuffix
// documents (*qys.Client has it).
type StreamAPI interface {
	OperationLog(ctx context.Context, q qys.StreamQuery) (*qys.OperationLog, error)
}

// fileOpener is the part of a document store that reads an archived file
// back for verification (*docstore.Store has it); a store without it
// leaves documents unverified.
type fileOpener interface {
	Open(relPath string) (*os.File, error)
}

// Ledger is what the archiver needs of the ledger (store.Ledger).
type Ledger interface {
	ClaimDocuments(ctx context.Context, owner string, limit int, lease time.Duration) ([]store.Document, error)
	ArchiveDocument(ctx context.Context, tenant string, doc store.Document, facts []store.Fact) (bool, error)
	FailDocument(ctx context.Context, f store.DocumentFailure) (bool, error)
	RenewDocumentLease(ctx context.Context, owner, tenant, id string, lease time.Duration) (bool, error)
	DocumentCounts(ctx context.Context, states ...string) (map[string]int64, error)
}

// DocumentStore keeps archived files (store/docstore): Put writes the
// content file, Link points the document's readable index entry at it
// once the ledger names it.
type DocumentStore interface {
	Put(ctx context.Context, tenant, contractID, documentID, ext string, r io.Reader) (relPath, sha256hex string, size int64, err error)
	Link(tenant, contractID, documentID, ext, contentPath string) error
}

// API is what the archiver needs of one tenant's open API (*qys.Client).
type API interface {
	DownloadDocument(ctx context.Context, documentID string) (*qys.Download, error)
	DownloadContract(ctx context.Context, q qys.ContractQuery, items ...string) (*qys.Download, error)
}

// Options configure an Archiver. Ledger and Docs are required.
type Options struct {
	Ledger Ledger
	Docs   DocumentStore
	// APIs maps a tenant to its open API; a document of a tenant without
	// one fails (permanently) with that reason.
	APIs  map[string]API
	Names events.Names
	// VerifyOnline names the tenants whose archived PDFs are also sent to
	// 契约锁's file verification (POST /v2/verify, 辅助工具-文件验签) when
	// they are archived; every PDF is verified offline (package pdfverify).
	VerifyOnline map[string]bool
	// Owner names this archiver in leases (default host-pid-random).
	Owner string
	// Workers is how many documents download at once (default 4).
	Workers int
	// DownloadTimeout bounds one download and its storing (default 30 min).
	DownloadTimeout time.Duration
	// Lease is how long a claimed row stays this archiver's without
	// renewal; it is renewed every third of it while the download runs,
	// so a row of an archiver that died is retried after at most Lease
	// (default 1 min).
	Lease time.Duration
	// PollInterval is how often the queue is polled when idle (default 2 s).
	PollInterval time.Duration
	// BackoffBase and BackoffMax space the retries of a transient failure:
	// exponential with jitter (defaults 30 s and 1 h).
	BackoffBase, BackoffMax time.Duration
	// MaxAttempts ends a row failed after this many transient failures
	// (default 10). Rate-limited answers (and a budget wait that ran out
	// of time) are retried without end: they never use up the attempts.
	MaxAttempts int
	// ItemRefusalCodes are the API codes that, answering an item download
	// (store.ItemInfix: ATTACHMENT, NOTARY, ENDSIGN_ATTACHMENT), mean the
	// platform will not serve it (no such file, a paid service not
	// enabled): the answer itself is archived as the item, a JSON record
	// (Refusal) with the platform's body verbatim, and never retried.
	// Nil: every API error that is not temporary (not a rate limit, not a
	// server fault) counts. The platform's codes are not public
	// (docs/evidence.md).
	ItemRefusalCodes []int
	// CrossCheck tunes the comparison of each archived PDF with its
	// contract's API detail (package crosscheck), run when the ledger can
	// read the contract; SkipCrossCheck turns it off.
	CrossCheck     crosscheck.Options
	SkipCrossCheck bool
	// SkipValidation leaves out the verification material of archived
	// PDFs (pdfverify.Collect: certificate chains, OCSP and CRL answers),
	// otherwise fetched and archived beside every PDF with signatures.
	SkipValidation bool
	// RevocationTimeout bounds each OCSP or CRL fetch (default 10 s).
	RevocationTimeout time.Duration
	// Grace is how long shutdown lets in-flight downloads finish before
	// cancelling them (default 10 s).
	Grace  time.Duration
	Logger zerolog.Logger
	// Registerer receives the metrics (nil: not registered).
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() {
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strings.ToLower(crand.Text()[:8]))
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.DownloadTimeout <= 0 {
		o.DownloadTimeout = DefaultDownloadTimeout
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 30 * time.Second
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = max(time.Hour, o.BackoffBase)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.RevocationTimeout <= 0 {
		o.RevocationTimeout = 10 * time.Second
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Ledger == nil {
		errs = append(errs, errors.New("archiver: ledger required"))
	}
	if o.Docs == nil {
		errs = append(errs, errors.New("archiver: document store required"))
	}
	if o.Lease < 30*time.Millisecond {
		errs = append(errs, fmt.Errorf("archiver: lease %s is too short to renew", o.Lease))
	}
	return errors.Join(errs...)
}

// Archiver is the archive stage. Run works the queue.
type Archiver struct {
	o       Options
	log     zerolog.Logger
	metrics *metrics
	kick    chan struct{}

	mu      sync.Mutex
	running bool
}

// New returns an Archiver.
func New(o Options) (*Archiver, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer, o.Ledger)
	if err != nil {
		return nil, err
	}
	return &Archiver{o: o, log: o.Logger, metrics: m, kick: make(chan struct{}, 1)}, nil
}

// Owner is the name this archiver leases rows under.
func (a *Archiver) Owner() string { return a.o.Owner }

// Kick makes Run look at the queue now instead of at its next poll.
func (a *Archiver) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run claims and archives documents until ctx is done. Then it stops
// claiming, lets the downloads in flight finish for Grace, cancels the
// rest and returns once every worker has; the rows it did not finish
// keep their lease until it expires, and another archiver retries them.
func (a *Archiver) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("archiver: already running")
	}
	a.running = true
	a.mu.Unlock()
	defer func() { a.mu.Lock(); a.running = false; a.mu.Unlock() }()

	// Downloads under way finish within Grace; those still waiting for the
	// tenant's API budget (a throttled spell) give up at once.
	work, cancelWork := context.WithCancel(qys.StopBudgetWaits(context.WithoutCancel(ctx), ctx.Done()))
	defer cancelWork()
	var wg sync.WaitGroup
	done := make(chan struct{}, a.o.Workers)
	inflight := 0
	poll := time.NewTicker(a.o.PollInterval)
	defer poll.Stop()
	for ctx.Err() == nil {
		free := a.o.Workers - inflight
		claimed := 0
		if free > 0 {
			docs, err := a.o.Ledger.ClaimDocuments(ctx, a.o.Owner, free, a.o.Lease)
			if err != nil && ctx.Err() == nil {
				a.log.Warn().Err(err).Msg("archiver: claiming documents failed; retrying")
			}
			claimed = len(docs)
			for _, d := range docs {
				inflight++
				wg.Add(1)
				go func() {
					defer wg.Done()
					a.archive(work, d)
					done <- struct{}{}
				}()
			}
		}
		if free > 0 && claimed == free {
			continue // more may be due
		}
		select { // a worker finished, a kick, the poll, or shutdown
		case <-ctx.Done():
		case <-done:
			inflight--
		case <-a.kick:
		case <-poll.C:
		}
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	grace := time.NewTimer(a.o.Grace)
	defer grace.Stop()
	select {
	case <-finished:
	case <-grace.C:
		a.log.Warn().Int("in_flight", inflight).Msg("archiver: cancelling downloads still running at shutdown; their leases will expire")
		cancelWork()
		<-finished
	}
	return nil
}

// archive downloads one claimed document and records the outcome.
func (a *Archiver) archive(work context.Context, d store.Document) {
	work, span := startArchive(work, d)
	defer span.End()
	leased, loseLease := context.WithCancelCause(work)
	defer loseLease(nil)
	ctx, cancel := context.WithTimeout(leased, a.o.DownloadTimeout)
	defer cancel()
	stopRenewing := a.renew(ctx, loseLease, d)
	start := time.Now()
	err := a.fetch(ctx, d)
	stopRenewing()
	a.metrics.downloadSeconds.Observe(time.Since(start).Seconds())
	if err == nil {
		return
	}
	traceFailed(span, err)
	if work.Err() != nil {
		return // shutdown: the lease expires and another archiver retries
	}
	if errors.Is(context.Cause(leased), errLeaseLost) {
		// Another archiver has the row: not a failure of this download,
		// and FailDocument would change nothing (the row is not ours).
		a.metrics.leasesLost.Inc()
		a.log.Debug().Err(err).Str("contract_id", d.ContractID).Str("document_id", d.ID).
			Msg("archiver: download abandoned, the lease was lost to another archiver")
		return
	}
	permanent := errors.Is(err, qys.ErrNotFound) || errors.Is(err, docstore.ErrTooLarge) || errors.Is(err, errNoAPI)
	attempts := d.Attempts + 1
	reason := err.Error()
	if errors.Is(err, qys.ErrNotFound) {
		reason = "not found on the platform: " + reason
	}
	why := failureReason(err)
	// 契约锁 pacing us (rate limited, or the tenant's budget full until
	// the deadline) is no fault of the document, and a full disk is the
	// operator's to free: neither ends the document failed (attempts
	// still count, and space the backoff).
	if !permanent && why != ReasonRateLimited && why != ReasonDiskFull && attempts >= a.o.MaxAttempts {
		permanent = true
		reason = fmt.Sprintf("gave up after %d attempts: %s", attempts, reason)
	}
	f := store.DocumentFailure{Tenant: d.Tenant, ID: d.ID, Owner: a.o.Owner, Err: reason, Permanent: permanent,
		RetryAt: time.Now().Add(a.backoff(attempts))}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(work), 30*time.Second)
	defer rcancel()
	if _, ferr := a.o.Ledger.FailDocument(rctx, f); ferr != nil {
		a.log.Warn().Err(ferr).Str("document_id", d.ID).Msg("archiver: recording a failure failed; the lease will expire")
	}
	ev := a.log.Warn()
	if permanent {
		a.metrics.failures.WithLabelValues("permanent", why).Inc()
		ev = a.log.Error()
	} else {
		a.metrics.failures.WithLabelValues("transient", why).Inc()
	}
	ev.Err(err).Str("contract_id", d.ContractID).Str("document_id", d.ID).Int("attempts", attempts).
		Bool("permanent", permanent).Str("reason", why).Msg("document download failed")
}

// renew keeps the lease on d while the download runs, every third of
// Lease. A lease found lost (it expired and another archiver took the row)
// cancels the download with cause errLeaseLost. The returned func stops
// renewing and waits.
func (a *Archiver) renew(ctx context.Context, cancel context.CancelCauseFunc, d store.Document) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(a.o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ok, err := a.o.Ledger.RenewDocumentLease(ctx, a.o.Owner, d.Tenant, d.ID, a.o.Lease)
			switch {
			case err != nil:
				a.log.Warn().Err(err).Str("document_id", d.ID).Msg("archiver: renewing a lease failed")
			case !ok:
				a.log.Info().Str("document_id", d.ID).Msg("archiver: lease lost to another archiver; download cancelled")
				cancel(errLeaseLost)
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}

var errNoAPI = errors.New("no open-API credentials for the tenant")

// errLeaseLost is the cause of a download cancelled because a renewal
// found the row leased to another archiver.
var errLeaseLost = errors.New("archiver: lease lost to another archiver")

// fetch streams the document into the store and records it with its
// fact. Memory stays flat: the body is copied through a hash into a file.
func (a *Archiver) fetch(ctx context.Context, d store.Document) error {
	api := a.o.APIs[d.Tenant]
	if api == nil {
		return fmt.Errorf("tenant %s: %w", d.Tenant, errNoAPI)
	}
	ext := "pdf"
	var dl *qys.Download
	var err error
	switch d.ID {
	case d.ContractID + store.BundleSuffix:
		ext = "zip"
		dl, err = api.DownloadContract(ctx, qys.ContractQuery{ContractID: d.ContractID}, "CONTRACT", "SIGNLOG")
	case d.ContractID + store.OplogSuffix:
		ext = "json"
		dl, err = operationLog(ctx, api, d.ContractID)
	case d.ContractID + store.ItemInfix + itemOf(d):
		ext = "zip"
		dl, err = api.DownloadContract(ctx, qys.ContractQuery{ContractID: d.ContractID}, itemOf(d))
		if rec, ok := a.refusal(d, err); ok {
			ext, dl, err = "json", rec, nil
		}
	default:
		dl, err = api.DownloadDocument(ctx, d.ID)
	}
	if err != nil {
		return fmt.Errorf("download document %s: %w", d.ID, err)
	}
	defer dl.Body.Close()
	rel, sum, size, err := a.o.Docs.Put(ctx, d.Tenant, d.ContractID, d.ID, ext, dl.Body)
	if err != nil {
		return fmt.Errorf("store document %s: %w", d.ID, err)
	}
	if dl.Size >= 0 && size != dl.Size {
		return fmt.Errorf("document %s: got %d bytes, want %d: %w", d.ID, size, dl.Size, qys.ErrTruncated)
	}
	now := time.Now().UTC()
	doc := store.Document{ID: d.ID, ContractID: d.ContractID, Title: d.Title, SHA256: sum, Size: size, Path: rel,
		FetchedAt: &now, LeaseOwner: a.o.Owner, Generation: d.Generation}
	var discrepancies []crosscheck.Discrepancy
	if ext == "pdf" {
		res := a.verify(ctx, d.Tenant, &doc)
		a.collectValidation(ctx, d.Tenant, &doc)
		discrepancies = a.crossCheck(ctx, d.Tenant, &doc, res)
	}
	fact := events.Fact{
		Schema: events.SchemaLedgerV1, ID: factID("document", d.Tenant, d.ID, sum), Tenant: d.Tenant,
		Kind: events.FactDocumentsArchived, ContractID: d.ContractID, Confirmed: true, OccurredAt: now,
		Documents: []events.FactDocument{{ID: d.ID, Title: d.Title, SHA256: sum, Size: size, Path: rel}},
	}
	payload, _ := json.Marshal(fact) // only plain fields: cannot fail
	facts := []store.Fact{{ID: fact.ID, Subject: a.o.Names.LedgerDocumentsSubject(d.Tenant), Tenant: d.Tenant,
		ContractID: d.ContractID, Payload: payload, CreatedAt: now}}
	facts = append(facts, a.discrepancyFacts(d.Tenant, doc, discrepancies, now)...)
	traceFacts(ctx, facts)
	// The file is stored: record it even if shutdown began meanwhile.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	changed, err := a.o.Ledger.ArchiveDocument(rctx, d.Tenant, doc, facts)
	if err != nil {
		return fmt.Errorf("record document %s: %w", d.ID, err)
	}
	if changed {
		// Only now, with the row naming rel: a late or refused archiver
		// never re-points the index. The row is what counts; a failed
		// link leaves the previous entry (or none).
		if err := a.o.Docs.Link(d.Tenant, d.ContractID, d.ID, ext, rel); err != nil {
			a.log.Warn().Err(err).Str("document_id", d.ID).Msg("archiver: updating the document's index entry failed")
		}
		if doc.ValidationPath != "" {
			if err := a.o.Docs.Link(d.Tenant, d.ContractID, d.ID+validationSuffix, "json", doc.ValidationPath); err != nil {
				a.log.Warn().Err(err).Str("document_id", d.ID).Msg("archiver: updating the validation material's index entry failed")
			}
		}
		a.metrics.archived.Inc()
		a.metrics.bytes.Add(float64(size))
		a.log.Info().Str("contract_id", d.ContractID).Str("document_id", d.ID).Int64("size", size).Msg("document archived")
	}
	return nil
}

// backoff is the delay before attempt n+1: exponential from BackoffBase,
// capped at BackoffMax, with jitter (at least half of it).
func (a *Archiver) backoff(n int) time.Duration {
	return backoff.Jitter(backoff.Exponential(a.o.BackoffBase, a.o.BackoffMax, n-1), 0.5)
}

// factID is the dispatcher's fact id scheme: a hash of the parts, so the
// same document and content always give the same id.
func factID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "fact-" + hex.EncodeToString(h.Sum(nil)[:16])
}
