package admin

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/store"
)

// Listing keys of the operations' cursors.
const (
	keyDocuments     = "documents"
	keyAudit         = "audit"
	keyReconcileRuns = "reconcile-runs"
)

// listDocuments: GET /documents?state=&tenant=&contract_id=, the archive
// queue in (tenant, contract, id) order.
func (a *API) listDocuments(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "state", "tenant", "contract_id", "limit", "cursor")
	if err != nil {
		return err
	}
	tenant, err := tenantParam(q, false)
	if err != nil {
		return err
	}
	f := store.DocumentFilter{Tenant: tenant, Limit: maxScan}
	for _, s := range q.list("state") {
		if s != store.ArchivePending && s != store.ArchiveFailed && s != store.ArchiveArchived {
			return badRequest("state", "%q is not pending, failed or archived", s)
		}
		f.States = append(f.States, s)
	}
	if len(f.States) == 0 {
		f.States = []string{store.ArchivePending, store.ArchiveFailed, store.ArchiveArchived}
	}
	contractID := q.str("contract_id")
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyDocuments)
	if err != nil {
		return err
	}
	docs, err := a.o.Ledger.Documents(r.Context(), f)
	if err != nil {
		return err
	}
	var views []adminapi.QueuedDocument
	for _, d := range docs {
		if contractID != "" && d.ContractID != contractID {
			continue
		}
		if after != nil && !docAfter(d, after) {
			continue
		}
		views = append(views, adminapi.QueuedDocument{Tenant: d.Tenant, ID: d.ID, ContractID: d.ContractID, Title: d.Title,
			State: d.ArchiveState, Attempts: d.Attempts, LastError: d.LastError, NextAttemptAt: utc(d.NextAttemptAt),
			LastAttemptAt: utc(d.LastAttemptAt), SHA256: d.SHA256, Size: d.Size, FetchedAt: utc(d.FetchedAt)})
		if len(views) > limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(last adminapi.QueuedDocument) cursor {
		return cursor{List: keyDocuments, Tenant: last.Tenant, Sub: last.ContractID, ID: last.ID}
	}))
	return nil
}

// docAfter reports whether d comes after c in (tenant, contract, id) order.
func docAfter(d store.Document, c *cursor) bool {
	if d.Tenant != c.Tenant {
		return d.Tenant > c.Tenant
	}
	if d.ContractID != c.Sub {
		return d.ContractID > c.Sub
	}
	return d.ID > c.ID
}

// listAudit: GET /audit, newest first.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyAudit)
	if err != nil {
		return err
	}
	if a.o.Log == nil {
		return errorf(adminapi.CodeUnavailable, "this ledger keeps no audit trail")
	}
	f := store.AuditFilter{Limit: limit + 1}
	if after != nil {
		f.BeforeID = after.Num
	}
	rows, err := a.o.Log.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	unmasked := roleOf(r).seesPersonalData()
	views := make([]adminapi.AuditEntry, 0, len(rows))
	for _, e := range rows {
		views = append(views, adminapi.AuditEntry{ID: e.ID, At: e.At.UTC(), Who: e.Who, Action: e.Action,
			Selector: jsonOut(e.Selector, unmasked), Count: e.Count, Outcome: e.Outcome, JobID: e.JobID})
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(last adminapi.AuditEntry) cursor {
		return cursor{List: keyAudit, Num: last.ID}
	}))
	return nil
}

// overview: GET /overview. Stream figures are null when NATS cannot be
// read (errors says why).
func (a *API) overview(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	ctx := r.Context()
	v := adminapi.Overview{Tenants: []adminapi.TenantOverview{}, Running: map[string]int{}, Errors: map[string]string{},
		NATSSync: a.o.NATSSync}
	if a.o.Log != nil {
		c, err := a.o.Log.Counts(ctx)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for t := range c.Contracts {
			names[t] = true
		}
		for t := range c.Certifications {
			names[t] = true
		}
		for _, t := range sortedKeys(names) {
			by := c.Contracts[t]
			if by == nil {
				by = map[string]int64{}
			}
			v.Tenants = append(v.Tenants, adminapi.TenantOverview{Tenant: t, ContractsByStatus: by, Certifications: c.Certifications[t],
				UnconfirmedCertifications: c.UnconfirmedCertifications[t], PendingCertifications: c.PendingCertifications[t]})
			v.Certifications.Unconfirmed += c.UnconfirmedCertifications[t]
			v.Certifications.Pending += c.PendingCertifications[t]
		}
		if runs, err := a.o.Log.ReconcileRuns(ctx, 1); err == nil && len(runs) > 0 {
			rv := viewReconcileRun(runs[0])
			v.LastReconcile = &rv
		}
	}
	if a.o.Checkpoints != nil {
		st, err := a.o.Checkpoints.CheckpointStats(ctx)
		if err != nil {
			return err
		}
		ls := viewLogStatus(st, time.Now())
		v.Log = &ls
	}
	counts, err := a.o.Ledger.DocumentCounts(ctx)
	if err != nil {
		return err
	}
	v.Documents = adminapi.DocumentCounts{Pending: counts[store.ArchivePending], Failed: counts[store.ArchiveFailed],
		Archived: counts[store.ArchiveArchived]}
	dls, err := a.o.Ledger.DeadLetters(ctx, maxScan)
	if err != nil {
		return err
	}
	v.DeadLetters = len(dls)
	for _, k := range []string{"replay", "reconcile"} {
		if a.jobs.running(k) {
			v.Running[k] = 1
		}
	}
	a.failingNow(&v)
	if a.o.JS == nil {
		v.Errors["streams"] = "NATS is not connected"
	} else {
		a.streamFigures(ctx, &v)
	}
	if len(v.Errors) == 0 {
		v.Errors = nil
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// streamFigures fills the DLQ depth (the messages of QYS_DLQ, what
// qyshook_dlq_depth reports), the dispatcher's lag and the callbacks
// stored in the last minute.
func (a *API) streamFigures(ctx context.Context, v *adminapi.Overview) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if st, err := a.o.JS.Stream(ctx, a.o.Names.DLQStream()); err == nil {
		if info, err := st.Info(ctx); err == nil {
			n := info.State.Msgs
			v.DLQDepth = &n
		} else {
			v.Errors["dlq_depth"] = err.Error()
		}
	} else {
		v.Errors["dlq_depth"] = err.Error()
	}
	if c, err := a.o.JS.Consumer(ctx, a.o.Names.CallbacksStream(), a.o.Names.Durable(a.o.Durable)); err == nil {
		if info, err := c.Info(ctx); err == nil {
			n, un, re := info.NumPending, uint64(info.NumAckPending), uint64(info.NumRedelivered)
			v.Lag, v.Unacked, v.Redelivered = &n, &un, &re
		}
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		v.Errors["lag"] = err.Error()
	}
	n, err := a.storedSince(ctx, time.Now().Add(-time.Minute))
	if err != nil {
		v.Errors["callbacks_per_min"] = err.Error()
		return
	}
	v.CallbacksPerMin = &n
}

// storedSince counts the messages QYS_CALLBACKS stored since t: the first
// one at or after t and the messages pending behind it.
func (a *API) storedSince(ctx context.Context, t time.Time) (uint64, error) {
	st, err := a.o.JS.Stream(ctx, a.o.Names.CallbacksStream())
	if err != nil {
		return 0, err
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t, HeadersOnly: true,
		InactiveThreshold: 10 * time.Second,
	})
	if err != nil {
		return 0, err
	}
	batch, err := cons.FetchNoWait(1)
	if err != nil {
		return 0, err
	}
	var n uint64
	for m := range batch.Messages() {
		if md, err := m.Metadata(); err == nil {
			n = md.NumPending + 1
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
		return 0, err
	}
	return n, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
