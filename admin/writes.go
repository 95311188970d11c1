package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/deadletter"
	"github.com/qyshook/qyshook/replay"
	"github.com/qyshook/qyshook/store"
)

// maxBody bounds a write's JSON body.
const maxBody = 64 << 10

// maxReason bounds a purge reason.
const maxReason = 500

// decodeBody reads a JSON object into v, refusing unknown fields, trailing
// data and bodies over maxBody. An empty body leaves v as is when
// emptyOK, and is a 400 otherwise.
func decodeBody(r *http.Request, v any, emptyOK bool) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorf(adminapi.CodeBadRequest, "body: %v", err)
	}
	if len(b) > maxBody {
		return errorf(adminapi.CodeBadRequest, "body: larger than %d bytes", maxBody)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		if emptyOK {
			return nil
		}
		return errorf(adminapi.CodeBadRequest, "body: a JSON object is required")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(adminapi.CodeBadRequest, "body: %v", err)
	}
	if dec.More() {
		return errorf(adminapi.CodeBadRequest, "body: one JSON object expected")
	}
	return nil
}

// writable answers 503 when this API cannot write (no JetStream or no
// audit log): a write that could not be audited is not done.
func (a *API) writable() error {
	switch {
	case a.o.JS == nil:
		return errorf(adminapi.CodeUnavailable, "writes need NATS, which this process has not connected")
	case a.o.Log == nil:
		return errorf(adminapi.CodeUnavailable, "writes need the audit table, which this ledger does not provide")
	}
	return nil
}

// audit records one write. A failure to record is logged: the write has
// happened by then.
func (a *API) audit(r *http.Request, selector any, count int, outcome, jobID string) {
	a.auditAs(r.Context(), whoOf(r), r.Method+" "+routePattern(r), selector, count, outcome, jobID)
	if outcome != "ok" && outcome != "accepted" {
		hlog.FromRequest(r).Warn().Str("route", routePattern(r)).Str("outcome", outcome).Msg("admin write failed")
	}
}

// auditConsole records a console sign-in or sign-out (no job, no count).
func (a *API) auditConsole(r *http.Request, who, action string, selector any, outcome string) {
	if a.o.Log != nil {
		a.auditAs(r.Context(), who, action, selector, 0, outcome, "")
	}
}

func (a *API) auditAs(ctx context.Context, who, action string, selector any, count int, outcome, jobID string) {
	if err := a.auditErr(ctx, who, action, selector, count, outcome, jobID); err != nil {
		a.o.Logger.Error().Err(err).Str("action", action).Msg("admin: audit entry not recorded")
	}
}

// auditErr records one audit entry and returns the error of a failed
// write (for a read that must not be served unaudited: the evidence
// export).
func (a *API) auditErr(ctx context.Context, who, action string, selector any, count int, outcome, jobID string) error {
	sel, err := json.Marshal(selector)
	if err != nil || selector == nil {
		sel = []byte("{}")
	}
	// The request may be over: record with a context of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err = a.o.Log.AddAudit(ctx, store.AuditEntry{Who: who, Action: action, Selector: sel,
		Count: int64(count), Outcome: outcome, JobID: jobID})
	return err
}

// routePattern is the route below adminapi.Prefix, e.g. "/dead-letters/{id}/retry".
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return strings.TrimPrefix(rc.RoutePattern(), adminapi.Prefix)
	}
	return r.URL.Path
}

// outcomeOf is an audit outcome: "ok" or the error's safe text.
func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	var e *adminapi.Error
	if errors.As(err, &e) {
		return e.Code + ": " + e.Message
	}
	return "error: " + err.Error()
}

func deadLetterID(r *http.Request) (int64, error) {
	raw := pathParam(r, "id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return 0, errorf(adminapi.CodeBadRequest, "id: %q is not a dead-letter id (a positive integer)", raw)
	}
	return id, nil
}

// retryRows republishes dead letters through package replay, the one
// dead-letter retry path: the running dispatcher applies each and then
// resolves it (row and QYS_DLQ message).
func (a *API) retryRows(ctx context.Context, rows []store.DeadLetter) (adminapi.RetryResult, error) {
	rate := a.o.ReplayRate
	if rate < 0 {
		rate = 0
	}
	rp, err := replay.New(replay.Config{JS: a.o.JS, Names: a.o.Names, Job: newJobID("dlq", time.Now()), Rate: rate})
	if err != nil {
		return adminapi.RetryResult{}, err
	}
	rep, err := rp.RetryDeadLetters(ctx, rows, replay.Selector{}, false, nil)
	v := adminapi.RetryResult{Job: rep.Job, Selected: rep.Selected, Republished: rep.Republished, Duplicates: rep.Duplicates,
		Failed: rep.Failed, Undecodable: rep.Undecodable, Items: []adminapi.RetryItem{}}
	for _, it := range rep.Items {
		v.Items = append(v.Items, adminapi.RetryItem{ID: it.DeadLetterID, EventID: it.EventID, Tenant: it.Tenant, Kind: it.Kind,
			Type: it.Type, ContractID: it.ContractID, ReplayID: it.ReplayID, Result: it.Result, Error: it.Error})
	}
	return v, err
}

// retryDeadLetter: POST /dead-letters/{id}/retry.
func (a *API) retryDeadLetter(w http.ResponseWriter, r *http.Request) error {
	if err := a.writable(); err != nil {
		return err
	}
	id, err := deadLetterID(r)
	if err != nil {
		return err
	}
	var body struct{}
	if err := decodeBody(r, &body, true); err != nil {
		return err
	}
	sel := map[string]any{"id": id}
	d, err := a.o.Ledger.DeadLetter(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		err = errorf(adminapi.CodeNotFound, "no dead letter %d (resolved or purged already?)", id)
	}
	if err != nil {
		a.audit(r, sel, 0, outcomeOf(err), "")
		return err
	}
	v, err := a.retryRows(r.Context(), []store.DeadLetter{*d})
	a.audit(r, sel, v.Republished, outcomeOf(err), v.Job)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// retryDeadLetters: POST /dead-letters/retry {"tenant","consumer","issue","ids","all"}.
func (a *API) retryDeadLetters(w http.ResponseWriter, r *http.Request) error {
	if err := a.writable(); err != nil {
		return err
	}
	var body adminapi.RetryRequest
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	body.Tenant, body.Consumer, body.Issue = strings.TrimSpace(body.Tenant), strings.TrimSpace(body.Consumer), strings.TrimSpace(body.Issue)
	if body.Tenant == "" && body.Consumer == "" && body.Issue == "" && len(body.IDs) == 0 && !body.All {
		return errorf(adminapi.CodeBadRequest, `select the dead letters to retry: "tenant", "consumer", "issue", "ids", or "all": true for every one`)
	}
	if len(body.IDs) > maxScan {
		return errorf(adminapi.CodeBadRequest, "ids: more than %d", maxScan)
	}
	// ids (a dry run's items) narrows the selection: a confirmed retry
	// republishes only what its dry run counted.
	var only map[int64]bool
	if len(body.IDs) > 0 {
		only = make(map[int64]bool, len(body.IDs))
		for _, id := range body.IDs {
			only[id] = true
		}
	}
	all, err := a.o.Ledger.DeadLetters(r.Context(), maxScan)
	if err != nil {
		return err
	}
	var rows []store.DeadLetter
	for _, d := range all {
		if (body.Tenant == "" || d.Tenant == body.Tenant) && (body.Consumer == "" || d.Consumer == body.Consumer) &&
			(body.Issue == "" || issueKey(&d) == body.Issue) && (only == nil || only[d.ID]) {
			rows = append(rows, d)
		}
	}
	if body.DryRun {
		// What a retry would select, nothing republished.
		v := adminapi.RetryResult{Selected: len(rows), Items: []adminapi.RetryItem{}}
		for i := range rows {
			it := adminapi.RetryItem{ID: rows[i].ID, EventID: rows[i].EventID, Tenant: rows[i].Tenant, Result: "dry_run"}
			if e := envelopeOf(&rows[i]); e != nil {
				it.Kind, it.Type, it.ContractID = e.Kind, e.Type, e.ContractID
			}
			v.Items = append(v.Items, it)
		}
		a.audit(r, body, len(rows), "dry_run", "")
		writeJSON(w, http.StatusOK, v)
		return nil
	}
	v, err := a.retryRows(r.Context(), rows)
	a.audit(r, body, v.Republished, outcomeOf(err), v.Job)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// purgeDeadLetter: POST /dead-letters/{id}/purge {"reason"}: deletes the
// row and its QYS_DLQ message (what qyshook_dlq_depth counts) without
// applying the event.
func (a *API) purgeDeadLetter(w http.ResponseWriter, r *http.Request) error {
	if err := a.writable(); err != nil {
		return err
	}
	id, err := deadLetterID(r)
	if err != nil {
		return err
	}
	var body adminapi.PurgeRequest
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	body.Reason = strings.TrimSpace(body.Reason)
	switch {
	case body.Reason == "":
		return errorf(adminapi.CodeBadRequest, `reason: required (why is this event dropped without being applied?)`)
	case len(body.Reason) > maxReason:
		return errorf(adminapi.CodeBadRequest, "reason: longer than %d bytes", maxReason)
	}
	sel := map[string]any{"id": id, "reason": body.Reason}
	err = deadletter.Resolve(r.Context(), a.o.JS, a.o.Names, a.o.Ledger, id, 0)
	if errors.Is(err, store.ErrNotFound) {
		err = errorf(adminapi.CodeNotFound, "no dead letter %d (resolved or purged already?)", id)
	}
	n := 1
	if err != nil {
		n = 0
	}
	a.audit(r, sel, n, outcomeOf(err), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminapi.PurgeResult{Purged: 1})
	return nil
}
