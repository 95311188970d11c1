package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/replay"
)

// parseSelector checks s and returns the replay selector and s in
// canonical form (times in UTC), which the confirm token signs.
func parseSelector(s adminapi.ReplaySelector) (replay.Selector, adminapi.ReplaySelector, error) {
	var sel replay.Selector
	var err error
	parseTime := func(name, v string) (time.Time, string, error) {
		v = strings.TrimSpace(v)
		if v == "" {
			return time.Time{}, "", nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, "", errorf(adminapi.CodeBadRequest, "selector.%s: %q is not an RFC 3339 time such as 2025-06-01T08:00:00Z", name, v)
		}
		return t, t.UTC().Format(time.RFC3339Nano), nil
	}
	if sel.Since, s.From, err = parseTime("from", s.From); err != nil {
		return sel, s, err
	}
	if sel.Until, s.To, err = parseTime("to", s.To); err != nil {
		return sel, s, err
	}
	s.Tenant, s.ContractID, s.Type = strings.TrimSpace(s.Tenant), strings.TrimSpace(s.ContractID), strings.TrimSpace(s.Type)
	sel.FromSeq, sel.ToSeq, sel.Tenant, sel.ContractID, sel.CallbackType = s.FromSeq, s.ToSeq, s.Tenant, s.ContractID, s.Type
	if !sel.Bounded() {
		return sel, s, errorf(adminapi.CodeBadRequest, "selector: nothing selected; give from/to, from_seq/to_seq, tenant, contract_id "+
			"or type (from_seq 1 selects the whole stream): an empty selector never replays the whole stream")
	}
	if err := sel.Validate(); err != nil {
		return sel, s, errorf(adminapi.CodeBadRequest, "selector: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return sel, s, nil
}

// confirmClaims is what a confirm token carries (and signs, with the
// selector): its expiry and the dry run's count.
type confirmClaims struct {
	Exp      int64 `json:"exp"`
	Selected int   `json:"n"`
	Nonce    int64 `json:"r"`
}

// confirmToken signs the canonical selector with claims:
// base64url(claims) "." base64url(HMAC-SHA256(key, claims "|" selector)).
func (a *API) confirmToken(sel adminapi.ReplaySelector, c confirmClaims) string {
	cb, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(cb)
	return payload + "." + base64.RawURLEncoding.EncodeToString(a.confirmMAC(payload, sel))
}

func (a *API) confirmMAC(payload string, sel adminapi.ReplaySelector) []byte {
	sb, _ := json.Marshal(sel)
	m := hmac.New(sha256.New, a.confirmKey)
	m.Write([]byte(payload))
	m.Write([]byte{'|'})
	m.Write(sb)
	return m.Sum(nil)
}

// checkConfirm verifies token against sel and now, and spends it: a token
// starts one run.
func (a *API) checkConfirm(token string, sel adminapi.ReplaySelector, now time.Time) (confirmClaims, error) {
	bad := errorf(adminapi.CodeBadRequest, "confirm: not the token of a dry run of this selector "+
		"(run POST /replays with \"dry_run\": true and the same selector first)")
	payload, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || len(token) > 512 {
		return confirmClaims{}, bad
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.confirmMAC(payload, sel)) {
		return confirmClaims{}, bad
	}
	cb, err := base64.RawURLEncoding.DecodeString(payload)
	var c confirmClaims
	if err != nil || json.Unmarshal(cb, &c) != nil {
		return confirmClaims{}, bad
	}
	if now.Unix() > c.Exp {
		return c, errorf(adminapi.CodeBadRequest, "confirm: the dry run's token expired; run the dry run again")
	}
	if !a.spent.spend(token, time.Unix(c.Exp, 0)) {
		return c, errorf(adminapi.CodeConflict, "confirm: this token already started a replay; run a new dry run to replay again")
	}
	return c, nil
}

// spentTokens remembers confirm tokens used, until they expire.
type spentTokens struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (s *spentTokens) spend(token string, exp time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for t, e := range s.m {
		if now.After(e) {
			delete(s.m, t)
		}
	}
	if _, ok := s.m[token]; ok {
		return false
	}
	s.m[token] = exp
	return true
}

// postReplay: POST /replays, a dry run or a confirmed run.
func (a *API) postReplay(w http.ResponseWriter, r *http.Request) error {
	if err := a.writable(); err != nil {
		return err
	}
	var req adminapi.ReplayRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Selector == nil {
		return errorf(adminapi.CodeBadRequest, "selector: required (an empty selector never replays the whole stream)")
	}
	sel, canon, err := parseSelector(*req.Selector)
	if err != nil {
		return err
	}
	switch {
	case req.DryRun && req.Confirm != "":
		return errorf(adminapi.CodeBadRequest, "give dry_run or confirm, not both")
	case req.DryRun:
		return a.dryRun(w, r, sel, canon)
	case req.Confirm == "":
		return errorf(adminapi.CodeBadRequest, "confirm: required; every replay starts with a dry run "+
			"(\"dry_run\": true) whose answer carries the confirm token for the same selector")
	}
	c, err := a.checkConfirm(req.Confirm, canon, time.Now())
	if err != nil {
		a.audit(r, canon, 0, outcomeOf(err), "")
		return err
	}
	rate := a.o.ReplayRate
	if rate < 0 {
		rate = 0
	}
	now := time.Now().UTC()
	id := newJobID("replay", now)
	rp, err := replay.New(replay.Config{JS: a.o.JS, Names: a.o.Names, Job: id, Rate: rate})
	if err != nil {
		return err
	}
	selJSON, _ := json.Marshal(canon)
	who := whoOf(r)
	j := &adminapi.Job{ID: id, Kind: "replay", State: adminapi.JobRunning, StartedBy: who, Selector: selJSON, Selected: c.Selected,
		StartedAt: now}
	a.audit(r, canon, c.Selected, "accepted", id)
	snap := a.jobs.start(j, func(ctx context.Context, update func(func(*adminapi.Job))) (any, error) {
		rep, err := rp.Run(ctx, sel, false, func(done, total int) {
			update(func(j *adminapi.Job) { j.Progress = adminapi.JobProgress{Done: done, Total: total} })
		})
		update(func(j *adminapi.Job) {
			j.Selected, j.Republished, j.Duplicates, j.Failed = rep.Selected, rep.Republished, rep.Duplicates, rep.Failed
		})
		outcome := "done"
		if err != nil {
			outcome = "failed: " + err.Error()
		}
		a.auditAs(context.Background(), who, "JOB replay", canon, rep.Republished, outcome, id)
		return replayReport(rep), err
	}, nil)
	writeJSON(w, http.StatusAccepted, snap)
	return nil
}

func (a *API) dryRun(w http.ResponseWriter, r *http.Request, sel replay.Selector, canon adminapi.ReplaySelector) error {
	rp, err := replay.New(replay.Config{JS: a.o.JS, Names: a.o.Names, Job: "dry-run"})
	if err != nil {
		return err
	}
	rep, err := rp.Run(r.Context(), sel, true, nil)
	if err != nil {
		a.audit(r, canon, 0, "dry run: "+outcomeOf(err), "")
		return err
	}
	// A dry run changes nothing but is recorded: who looked at what.
	a.audit(r, canon, rep.Selected, "dry run", "")
	v := adminapi.DryRun{DryRun: true, Selector: canon, Scanned: rep.Scanned, Selected: rep.Selected, Undecodable: rep.Undecodable,
		SkippedReplays: rep.SkippedReplays, ByTenant: map[string]int{}, ByType: map[string]int{}, Errors: itemErrors(rep.Errors)}
	for _, it := range rep.Items {
		if it.Result == replay.ResultWouldRepublish {
			v.ByTenant[it.Tenant]++
			v.ByType[it.Type]++
		}
	}
	v.ExpiresAt = time.Now().Add(a.o.ConfirmTTL).UTC().Truncate(time.Second)
	v.Confirm = a.confirmToken(canon, confirmClaims{Exp: v.ExpiresAt.Unix(), Selected: rep.Selected, Nonce: time.Now().UnixNano()})
	writeJSON(w, http.StatusOK, v)
	return nil
}

// listReplays: GET /replays, the replay jobs of this process, newest first.
func (a *API) listReplays(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminapi.Page[adminapi.Job]{Items: a.jobs.list("replay")})
	return nil
}

// getReplay: GET /replays/{id}.
func (a *API) getReplay(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	id := pathParam(r, "id")
	j, ok := a.jobs.get(id)
	if !ok || j.Kind != "replay" {
		return errorf(adminapi.CodeNotFound, "no replay job %q in this process (jobs are kept in memory until it restarts)", id)
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// replayReport is a replay's report as the answer shows it.
func replayReport(rep replay.Report) adminapi.ReplayReport {
	v := adminapi.ReplayReport{Job: rep.Job, DryRun: rep.DryRun, Scanned: rep.Scanned, Selected: rep.Selected,
		Republished: rep.Republished, Duplicates: rep.Duplicates, Failed: rep.Failed, Undecodable: rep.Undecodable,
		SkippedReplays: rep.SkippedReplays, Errors: itemErrors(rep.Errors)}
	for _, it := range rep.Items {
		v.Items = append(v.Items, adminapi.ReplayItem{Seq: it.Seq, Time: it.Time, DeadLetterID: it.DeadLetterID,
			Tenant: it.Tenant, Kind: it.Kind, Type: it.Type, ContractID: it.ContractID, EventID: it.EventID,
			ReplayID: it.ReplayID, Result: it.Result, Error: it.Error})
	}
	return v
}

func itemErrors(errs []replay.ItemError) []adminapi.ReplayItemError {
	var out []adminapi.ReplayItemError
	for _, e := range errs {
		out = append(out, adminapi.ReplayItemError{Seq: e.Seq, DeadLetterID: e.DeadLetterID, EventID: e.EventID,
			ContractID: e.ContractID, Error: e.Error})
	}
	return out
}
