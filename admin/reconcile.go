package admin

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/store"
)

// viewReconcileRun is a recorded pass as the answers show it.
func viewReconcileRun(r store.ReconcileRun) adminapi.ReconcileRun {
	v := adminapi.ReconcileRun{ID: r.ID, StartedBy: r.StartedBy, StartedAt: r.StartedAt.UTC(), FinishedAt: utc(r.FinishedAt),
		Checked: r.Checked, Triggered: r.Triggered, Requeued: r.Requeued, Error: r.Error, State: adminapi.JobRunning,
		CertificationsChecked: r.CertificationsChecked, CertificationsUnconfirmed: r.CertificationsUnconfirmed,
		UnconfirmedCertifications: r.UnconfirmedCertifications}
	if v.UnconfirmedCertifications == nil {
		v.UnconfirmedCertifications = []string{}
	}
	if !r.Since.IsZero() {
		v.Since = utc(&r.Since)
	}
	switch {
	case r.FinishedAt == nil:
	case r.Error != "":
		v.State = adminapi.JobFailed
	default:
		v.State = adminapi.JobDone
	}
	return v
}

// DefaultMaxReconcileWindow bounds how far back POST /reconcile's since
// may reach: 90 days, the largest QYSHOOK_RECONCILE_WINDOW (a pass lists
// every contract the platform published since then).
const DefaultMaxReconcileWindow = 2160 * time.Hour

// postReconcile: POST /reconcile [{"since": RFC 3339}], one pass as a
// background job, recorded in reconcile_runs.
func (a *API) postReconcile(w http.ResponseWriter, r *http.Request) error {
	if err := a.writable(); err != nil {
		return err
	}
	if a.o.Reconcile == nil {
		return errorf(adminapi.CodeUnavailable, "this process cannot reconcile: no tenant has 契约锁 API credentials")
	}
	var body adminapi.ReconcileRequest
	if err := decodeBody(r, &body, true); err != nil {
		return err
	}
	now := time.Now().UTC()
	since := now.Add(-a.o.ReconcileWindow)
	if s := strings.TrimSpace(body.Since); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || t.After(now) {
			return errorf(adminapi.CodeBadRequest, "since: %q is not an RFC 3339 time in the past", s)
		}
		since = t.UTC()
		if bound := max(a.o.MaxReconcileWindow, a.o.ReconcileWindow); now.Sub(since) > bound {
			return errorf(adminapi.CodeBadRequest, "since: %s is more than %s back (a pass walks the platform's contracts "+
				"published since then; the bound is %d days, the largest QYSHOOK_RECONCILE_WINDOW)", s, bound, int(bound.Hours()/24))
		}
	}
	sel := map[string]any{"since": since}
	if a.jobs.running("reconcile") {
		err := errorf(adminapi.CodeConflict, "a reconcile pass is running; see GET %s/reconcile-runs", adminapi.Prefix)
		a.audit(r, sel, 0, outcomeOf(err), "")
		return err
	}
	who := whoOf(r)
	run := store.ReconcileRun{ID: newJobID("reconcile", now), StartedAt: now, StartedBy: who, Since: since}
	if err := a.o.Log.SaveReconcileRun(r.Context(), run); err != nil {
		return err
	}
	a.audit(r, sel, 0, "accepted", run.ID)
	j := &adminapi.Job{ID: run.ID, Kind: "reconcile", State: adminapi.JobRunning, StartedBy: who, StartedAt: now}
	var triggered int
	snap := a.jobs.start(j, func(ctx context.Context, _ func(func(*adminapi.Job))) (any, error) {
		rep, err := a.o.Reconcile(ctx, since)
		done := time.Now().UTC()
		run.FinishedAt, run.Checked, run.Triggered, run.Requeued = &done, int64(rep.Checked), int64(rep.Triggered), int64(rep.Requeued)
		run.CertificationsChecked, run.CertificationsUnconfirmed = int64(rep.CertificationsChecked), int64(rep.CertificationsUnconfirmed)
		run.UnconfirmedCertifications = rep.UnconfirmedCertifications
		if err != nil {
			run.Error = err.Error()
		}
		triggered = rep.Triggered
		return viewReconcileRun(run), err
	}, func(_ any, err error) {
		// Recorded once the job no longer counts as running: a client
		// that reads this run finished (qyshook reconcile waits for it)
		// may start the next pass at once without a 409.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := a.o.Log.SaveReconcileRun(sctx, run); serr != nil {
			a.o.Logger.Error().Err(serr).Str("run", run.ID).Msg("admin: reconcile run not recorded")
		}
		outcome := "done"
		if err != nil {
			outcome = "failed: " + err.Error()
		}
		a.auditAs(sctx, who, "JOB reconcile", sel, triggered, outcome, run.ID)
	})
	writeJSON(w, http.StatusAccepted, snap)
	return nil
}

// listReconcileRuns: GET /reconcile-runs, newest first.
func (a *API) listReconcileRuns(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyReconcileRuns)
	if err != nil {
		return err
	}
	if a.o.Log == nil {
		return errorf(adminapi.CodeUnavailable, "this ledger keeps no reconcile runs")
	}
	all, err := a.o.Log.ReconcileRuns(r.Context(), maxScan)
	if err != nil {
		return err
	}
	var views []adminapi.ReconcileRun
	for _, run := range all {
		// Ordered by started_at DESC, id DESC.
		if after != nil && (run.StartedAt.After(after.UpdatedAt) ||
			run.StartedAt.Equal(after.UpdatedAt) && run.ID >= after.ID) {
			continue
		}
		views = append(views, viewReconcileRun(run))
		if len(views) > limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(last adminapi.ReconcileRun) cursor {
		return cursor{List: keyReconcileRuns, UpdatedAt: last.StartedAt, ID: last.ID}
	}))
	return nil
}
