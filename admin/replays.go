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

	"github.com/go-chi/chi/v5"

	"github.com/qyshook/qyshook/replay"
)

// replaySelector is the selector of POST /replays. Zero fields select
// everything; set fields combine with AND. At least one must be set.
type replaySelector struct {
	From       string `json:"from,omitempty"` // RFC 3339, inclusive
	To         string `json:"to,omitempty"`   // RFC 3339, exclusive
	FromSeq    uint64 `json:"from_seq,omitempty"`
	ToSeq      uint64 `json:"to_seq,omitempty"`
	Tenant     string `json:"tenant,omitempty"`
	ContractID string `json:"contract_id,omitempty"`
	Type       string `json:"type,omitempty"`
}

// parse checks s and returns the replay selector and s in canonical form
// (times in UTC), which the confirm token signs.
func (s replaySelector) parse() (replay.Selector, replaySelector, error) {
	var sel replay.Selector
	var err error
	parseTime := func(name, v string) (time.Time, string, error) {
		v = strings.TrimSpace(v)
		if v == "" {
			return time.Time{}, "", nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, "", errorf(CodeBadRequest, "selector.%s: %q is not an RFC 3339 time such as 2025-06-01T08:00:00Z", name, v)
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
		return sel, s, errorf(CodeBadRequest, "selector: nothing selected; give from/to, from_seq/to_seq, tenant, contract_id "+
			"or type (from_seq 1 selects the whole stream): an empty selector never replays the whole stream")
	}
	if err := sel.Validate(); err != nil {
		return sel, s, errorf(CodeBadRequest, "selector: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return sel, s, nil
}

// replayRequest is the body of POST /replays.
type replayRequest struct {
	Selector *replaySelector `json:"selector"`
	DryRun   bool            `json:"dry_run"`
	Confirm  string          `json:"confirm"`
}

// dryRunView is the answer of a dry run.
type dryRunView struct {
	DryRun         bool               `json:"dry_run"`
	Selector       replaySelector     `json:"selector"`
	Scanned        int                `json:"scanned"`
	Selected       int                `json:"selected"`
	Undecodable    int                `json:"undecodable"`
	SkippedReplays int                `json:"skipped_replays"`
	ByTenant       map[string]int     `json:"by_tenant"`
	ByType         map[string]int     `json:"by_type"`
	Confirm        string             `json:"confirm"`
	ExpiresAt      time.Time          `json:"expires_at"`
	Errors         []replay.ItemError `json:"errors,omitempty"`
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
func (a *API) confirmToken(sel replaySelector, c confirmClaims) string {
	cb, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(cb)
	return payload + "." + base64.RawURLEncoding.EncodeToString(a.confirmMAC(payload, sel))
}

func (a *API) confirmMAC(payload string, sel replaySelector) []byte {
	sb, _ := json.Marshal(sel)
	m := hmac.New(sha256.New, a.confirmKey)
	m.Write([]byte(payload))
	m.Write([]byte{'|'})
	m.Write(sb)
	return m.Sum(nil)
}

// checkConfirm verifies token against sel and now, and spends it: a token
// starts one run.
func (a *API) checkConfirm(token string, sel replaySelector, now time.Time) (confirmClaims, error) {
	bad := errorf(CodeBadRequest, "confirm: not the token of a dry run of this selector "+
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
		return c, errorf(CodeBadRequest, "confirm: the dry run's token expired; run the dry run again")
	}
	if !a.spent.spend(token, time.Unix(c.Exp, 0)) {
		return c, errorf(CodeConflict, "confirm: this token already started a replay; run a new dry run to replay again")
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
	var req replayRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Selector == nil {
		return errorf(CodeBadRequest, "selector: required (an empty selector never replays the whole stream)")
	}
	sel, canon, err := req.Selector.parse()
	if err != nil {
		return err
	}
	switch {
	case req.DryRun && req.Confirm != "":
		return errorf(CodeBadRequest, "give dry_run or confirm, not both")
	case req.DryRun:
		return a.dryRun(w, r, sel, canon)
	case req.Confirm == "":
		return errorf(CodeBadRequest, "confirm: required; every replay starts with a dry run "+
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
	j := &jobView{ID: id, Kind: "replay", State: JobRunning, StartedBy: who, Selector: selJSON, Selected: c.Selected,
		StartedAt: now}
	a.audit(r, canon, c.Selected, "accepted", id)
	snap := a.jobs.start(j, func(ctx context.Context, update func(func(*jobView))) (any, error) {
		rep, err := rp.Run(ctx, sel, false, func(done, total int) {
			update(func(j *jobView) { j.Progress = jobProgress{Done: done, Total: total} })
		})
		update(func(j *jobView) {
			j.Selected, j.Republished, j.Duplicates, j.Failed = rep.Selected, rep.Republished, rep.Duplicates, rep.Failed
		})
		outcome := "done"
		if err != nil {
			outcome = "failed: " + err.Error()
		}
		a.auditAs(context.Background(), who, "JOB replay", canon, rep.Republished, outcome, id)
		return rep, err
	}, nil)
	writeJSON(w, http.StatusAccepted, snap)
	return nil
}

func (a *API) dryRun(w http.ResponseWriter, r *http.Request, sel replay.Selector, canon replaySelector) error {
	rp, err := replay.New(replay.Config{JS: a.o.JS, Names: a.o.Names, Job: "dry-run"})
	if err != nil {
		return err
	}
	rep, err := rp.Run(r.Context(), sel, true, nil)
	if err != nil {
		return err
	}
	v := dryRunView{DryRun: true, Selector: canon, Scanned: rep.Scanned, Selected: rep.Selected, Undecodable: rep.Undecodable,
		SkippedReplays: rep.SkippedReplays, ByTenant: map[string]int{}, ByType: map[string]int{}, Errors: rep.Errors}
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
	writeJSON(w, http.StatusOK, page{Items: a.jobs.list("replay")})
	return nil
}

// getReplay: GET /replays/{id}.
func (a *API) getReplay(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	j, ok := a.jobs.get(id)
	if !ok || j.Kind != "replay" {
		return errorf(CodeNotFound, "no replay job %q in this process (jobs are kept in memory until it restarts)", id)
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}
