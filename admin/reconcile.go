package admin

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/qyshook/qyshook/store"
)

// reconcileRunView is a reconcile pass in GET /reconcile-runs.
type reconcileRunView struct {
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

func viewReconcileRun(r store.ReconcileRun) reconcileRunView {
	v := reconcileRunView{ID: r.ID, StartedBy: r.StartedBy, StartedAt: r.StartedAt.UTC(), FinishedAt: utc(r.FinishedAt),
		Checked: r.Checked, Triggered: r.Triggered, Requeued: r.Requeued, Error: r.Error, State: JobRunning,
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
		v.State = JobFailed
	default:
		v.State = JobDone
	}
	return v
}

// postReconcile: POST /reconcile [{"since": RFC 3339}], one pass as a
// background job, recorded in reconcile_runs.
func (a *API) postReconcile(w http.ResponseWriter, r *http.Request) error {
	if err := a.writable(); err != nil {
		return err
	}
	if a.o.Reconcile == nil {
		return errorf(CodeUnavailable, "this process cannot reconcile: no tenant has 契约锁 API credentials")
	}
	var body struct {
		Since string `json:"since"`
	}
	if err := decodeBody(r, &body, true); err != nil {
		return err
	}
	now := time.Now().UTC()
	since := now.Add(-a.o.ReconcileWindow)
	if s := strings.TrimSpace(body.Since); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || t.After(now) {
			return errorf(CodeBadRequest, "since: %q is not an RFC 3339 time in the past", s)
		}
		since = t.UTC()
	}
	sel := map[string]any{"since": since}
	if a.jobs.running("reconcile") {
		err := errorf(CodeConflict, "a reconcile pass is running; see GET %s/reconcile-runs", Prefix)
		a.audit(r, sel, 0, outcomeOf(err), "")
		return err
	}
	who := whoOf(r)
	run := store.ReconcileRun{ID: newJobID("reconcile", now), StartedAt: now, StartedBy: who, Since: since}
	if err := a.o.Log.SaveReconcileRun(r.Context(), run); err != nil {
		return err
	}
	a.audit(r, sel, 0, "accepted", run.ID)
	j := &jobView{ID: run.ID, Kind: "reconcile", State: JobRunning, StartedBy: who, StartedAt: now}
	var triggered int
	snap := a.jobs.start(j, func(ctx context.Context, _ func(func(*jobView))) (any, error) {
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
		return errorf(CodeUnavailable, "this ledger keeps no reconcile runs")
	}
	all, err := a.o.Log.ReconcileRuns(r.Context(), maxScan)
	if err != nil {
		return err
	}
	var views []reconcileRunView
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
	writeJSON(w, http.StatusOK, paged(views, limit, func(last reconcileRunView) cursor {
		return cursor{List: keyReconcileRuns, UpdatedAt: last.StartedAt, ID: last.ID}
	}))
	return nil
}
