package admin

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/redact"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

// Endpoint routes (HTTP delivery, docs/delivery.md).
const (
	keyEndpointAttempts = "endpoint-attempts"
	// defaultOverlap is how long rotated-out secrets keep signing.
	defaultOverlap = 24 * time.Hour
	// maxEndpointConcurrency bounds an endpoint's deliveries in flight.
	maxEndpointConcurrency = 256
	// healthWindow is the number of recent attempts health is computed over.
	healthWindow = 100
)

// endpointStore is the ledger's endpoint side, or a 503.
func (a *API) endpointStore() (store.EndpointStore, error) {
	if a.o.Endpoints == nil {
		return nil, errorf(adminapi.CodeUnavailable, "this ledger keeps no endpoints")
	}
	return a.o.Endpoints, nil
}

// endpointView is e as the API shows it; the URL's query (which may hold
// a token) only to a role that sees personal data (operators).
func endpointView(e *store.Endpoint, role Role) adminapi.Endpoint {
	u := e.URL
	if !role.seesPersonalData() {
		u = redact.URL(u)
	}
	headers := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		headers = append(headers, k)
	}
	sort.Strings(headers)
	types := e.Types
	if types == nil {
		types = []string{}
	}
	return adminapi.Endpoint{ID: e.ID, Tenant: e.Tenant, URL: u, Description: e.Description, Types: types,
		Headers: headers, RateLimit: e.RateLimit, Concurrency: e.Concurrency, Ordered: e.Ordered,
		AllowPrivate: e.AllowPrivate, AllowHTTP: e.AllowHTTP, Enabled: e.Enabled, DisabledReason: e.DisabledReason,
		DisabledAt: utcPtr(e.DisabledAt), Secrets: len(e.ActiveSecrets(time.Now())), Source: e.Source,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(), FailingSince: utcPtr(e.FailingSince),
		WarnedAt: utcPtr(e.WarnedAt), LastSuccessAt: utcPtr(e.LastSuccessAt)}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// newEndpointID returns "ep_" and 20 random base32 characters (a valid
// subject token).
func newEndpointID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "ep_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// reservedHeaders cannot be set as an endpoint's extra headers.
var reservedHeaders = []string{"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length",
	"host", "user-agent", "transfer-encoding", "connection"}

// CheckEndpoint validates an endpoint's settings: tenant, URL (SSRF and
// https rules), filters, headers, rate and concurrency.
func CheckEndpoint(e *store.Endpoint) error {
	switch {
	case !events.ValidToken(e.Tenant):
		return badRequest("tenant", "%q: letters, digits, '-' and '_' (1-64)", e.Tenant)
	case e.RateLimit < 0 || e.RateLimit > 100000:
		return badRequest("rate_limit", "%v: want 0 (none) to 100000 per second", e.RateLimit)
	case e.Concurrency < 0 || e.Concurrency > maxEndpointConcurrency:
		return badRequest("concurrency", "%d: want 1 to %d (0: 4)", e.Concurrency, maxEndpointConcurrency)
	}
	if err := webhook.CheckURL(e.URL, e.AllowHTTP, e.AllowPrivate); err != nil {
		if errors.Is(err, webhook.ErrPrivateAddress) {
			return badRequest("url", "%v (allow_private, or --allow-private, accepts it)", err)
		}
		return badRequest("url", "%v", err)
	}
	if err := webhook.CheckTypes(e.Types); err != nil {
		return badRequest("types", "%v", err)
	}
	for k := range e.Headers {
		if slices.Contains(reservedHeaders, strings.ToLower(k)) || strings.HasPrefix(strings.ToLower(k), "webhook-") {
			return badRequest("headers", "%q is set by qyshook", k)
		}
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return badRequest("headers", "%q is not a header name", k)
		}
	}
	return nil
}

// listEndpoints: GET /endpoints.
func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "tenant")
	if err != nil {
		return err
	}
	es, err := a.endpointStore()
	if err != nil {
		return err
	}
	eps, err := es.Endpoints(r.Context(), q.str("tenant"))
	if err != nil {
		return err
	}
	views := make([]adminapi.Endpoint, 0, len(eps))
	for i := range eps {
		views = append(views, endpointView(&eps[i], roleOf(r)))
	}
	writeJSON(w, http.StatusOK, adminapi.Page[adminapi.Endpoint]{Items: views})
	return nil
}

// endpointOf reads the route's endpoint.
func (a *API) endpointOf(r *http.Request) (store.EndpointStore, *store.Endpoint, error) {
	es, err := a.endpointStore()
	if err != nil {
		return nil, nil, err
	}
	ep, err := es.Endpoint(r.Context(), chi.URLParam(r, "id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errorf(adminapi.CodeNotFound, "no endpoint %s", chi.URLParam(r, "id"))
	}
	return es, ep, err
}

// getEndpoint: GET /endpoints/{id}, with its health.
func (a *API) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	es, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	atts, err := es.EndpointAttempts(r.Context(), store.EndpointAttemptFilter{EndpointID: ep.ID, Limit: healthWindow})
	if err != nil {
		return err
	}
	dls, err := es.EndpointDeadLetters(r.Context(), ep.ID, 0)
	if err != nil {
		return err
	}
	h := adminapi.EndpointHealth{Attempts: len(atts), DeadLetters: len(dls), LastFailures: []adminapi.EndpointAttempt{}}
	lat := make([]int64, 0, len(atts))
	ok := 0
	for _, at := range atts {
		lat = append(lat, at.LatencyMS)
		if at.Status >= 200 && at.Status < 300 {
			ok++
		} else if len(h.LastFailures) < 5 {
			h.LastFailures = append(h.LastFailures, attemptView(at))
		}
	}
	if len(atts) > 0 {
		h.SuccessRate = float64(ok) / float64(len(atts))
		slices.Sort(lat)
		h.LatencyP50MS = lat[len(lat)/2]
		h.LatencyP99MS = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	if ep.FailingSince != nil && ep.Enabled && a.o.DisableAfter > 0 {
		// As the stage decides (delivery/health.go): DisableAfter after
		// failing began, and DisableAfter/2 after the warning (not yet
		// published: it comes with the next failure).
		at := ep.FailingSince.Add(a.o.DisableAfter)
		warned := time.Now()
		if ep.WarnedAt != nil {
			warned = *ep.WarnedAt
		}
		if w := warned.Add(a.o.DisableAfter / 2); w.After(at) {
			at = w
		}
		at = at.UTC()
		h.DisableAt = &at
	}
	writeJSON(w, http.StatusOK, adminapi.EndpointDetail{Endpoint: endpointView(ep, roleOf(r)), Health: h})
	return nil
}

func attemptView(at store.EndpointAttempt) adminapi.EndpointAttempt {
	return adminapi.EndpointAttempt{ID: at.ID, FactID: at.FactID, Attempt: at.Attempt, At: at.At.UTC(), Status: at.Status,
		LatencyMS: at.LatencyMS, Response: at.Response, Error: at.Error, NextAttemptAt: utcPtr(at.NextAttemptAt)}
}

// postEndpoint: POST /endpoints. The answer holds the secret, this once.
func (a *API) postEndpoint(w http.ResponseWriter, r *http.Request) error {
	var req adminapi.EndpointRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	es, err := a.endpointStore()
	if err != nil {
		return err
	}
	if err := a.writable(); err != nil {
		return err
	}
	id, err := newEndpointID()
	if err != nil {
		return err
	}
	secret, shown, err := newSecret(req.Asymmetric)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	ep := store.Endpoint{ID: id, Tenant: req.Tenant, URL: strings.TrimSpace(req.URL), Description: req.Description,
		Types: req.Types, Headers: req.Headers, RateLimit: req.RateLimit, Concurrency: req.Concurrency, Ordered: req.Ordered,
		AllowPrivate: req.AllowPrivate, AllowHTTP: req.AllowHTTP, Enabled: !req.Disabled, Source: store.SourceAPI,
		Secrets: []store.EndpointSecret{{Secret: secret, CreatedAt: now}}, CreatedAt: now, UpdatedAt: now}
	if ep.Concurrency == 0 {
		ep.Concurrency = 4
	}
	if req.Disabled {
		ep.DisabledReason, ep.DisabledAt = "created disabled", &now
	}
	sel := map[string]any{"id": id, "tenant": req.Tenant, "url": redact.URL(ep.URL), "types": req.Types,
		"allow_private": req.AllowPrivate, "ordered": req.Ordered, "asymmetric": req.Asymmetric}
	if slices.Contains(a.o.PrivateTenants, ep.Tenant) {
		ep.AllowPrivate = true // the tenant allows it (QYSHOOK_DELIVERY_ALLOW_PRIVATE_TENANTS)
	}
	if err := CheckEndpoint(&ep); err != nil {
		a.audit(r, sel, 0, outcomeOf(err), "")
		return err
	}
	err = es.SaveEndpoint(r.Context(), ep)
	a.audit(r, sel, 1, outcomeOf(err), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, adminapi.EndpointCreated{Endpoint: endpointView(&ep, roleOf(r)), Secret: shown})
	return nil
}

// newSecret returns a signing secret and what the answer shows of it: an
// HMAC secret shows itself; an Ed25519 signing key (asymmetric) shows its
// public key, and never leaves the ledger.
func newSecret(asymmetric bool) (secret, shown string, err error) {
	if asymmetric {
		sk, pk, err := webhook.NewSigningKey()
		return sk, pk, err
	}
	s, err := webhook.NewSecret()
	return s, s, err
}

// configOwned refuses (409) a change to an endpoint of the config file
// that its next start would undo: what is named must be changed there.
func configOwned(ep *store.Endpoint, what string) error {
	if ep.Source != store.SourceConfig {
		return nil
	}
	return errorf(adminapi.CodeConflict, "endpoint %s is declared in the config file ([[endpoint]] id = %q): "+
		"change %s there and restart; a change through the API would be undone at the next start "+
		"(an endpoint removed from the file is disabled at the next start and may then be deleted)", ep.ID, ep.ID, what)
}

// deleteEndpoint: DELETE /endpoints/{id}, with its queue, attempts and
// dead letters.
func (a *API) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := a.writable(); err != nil {
		return err
	}
	es, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	if err := configOwned(ep, "whether it exists"); err != nil {
		a.audit(r, map[string]string{"id": ep.ID, "tenant": ep.Tenant}, 0, outcomeOf(err), "")
		return err
	}
	err = es.DeleteEndpoint(r.Context(), ep.ID)
	if err == nil {
		err = deliveryq.Remove(r.Context(), a.o.JS, a.o.Names, ep.ID)
	}
	a.audit(r, map[string]string{"id": ep.ID, "tenant": ep.Tenant}, 1, outcomeOf(err), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminapi.Deleted{Deleted: 1})
	return nil
}

// enableEndpoint and disableEndpoint: POST /endpoints/{id}/enable|disable.
func (a *API) enableEndpoint(w http.ResponseWriter, r *http.Request) error {
	return a.setEnabled(w, r, true)
}

func (a *API) disableEndpoint(w http.ResponseWriter, r *http.Request) error {
	return a.setEnabled(w, r, false)
}

func (a *API) setEnabled(w http.ResponseWriter, r *http.Request, enabled bool) error {
	if err := decodeBody(r, &struct{}{}, true); err != nil {
		return err
	}
	if err := a.writable(); err != nil {
		return err
	}
	es, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	if enabled && !ep.Enabled && ep.DisabledReason == store.ConfigDisabledReason {
		if err := configOwned(ep, "that it is disabled"); err != nil {
			a.audit(r, map[string]string{"id": ep.ID}, 0, outcomeOf(err), "")
			return err
		}
	}
	changed, err := es.SetEndpointEnabled(r.Context(), ep.ID, enabled, "disabled by "+whoOf(r))
	n := 0
	if changed {
		n = 1
	}
	a.audit(r, map[string]string{"id": ep.ID}, n, outcomeOf(err), "")
	if err != nil {
		return err
	}
	if ep, err = es.Endpoint(r.Context(), ep.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, endpointView(ep, roleOf(r)))
	return nil
}

// rotateSecret: POST /endpoints/{id}/rotate-secret. The previous secrets
// keep signing for the overlap, so receivers can move to the new one.
func (a *API) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	var req adminapi.RotateSecretRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	overlap := defaultOverlap
	if req.Overlap != "" {
		d, err := time.ParseDuration(req.Overlap)
		if err != nil || d < 0 || d > 30*24*time.Hour {
			return badRequest("overlap", "%q: a duration of 0s to 720h", req.Overlap)
		}
		overlap = d
	}
	if err := a.writable(); err != nil {
		return err
	}
	es, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	if err := configOwned(ep, "its secrets"); err != nil {
		a.audit(r, map[string]string{"id": ep.ID}, 0, outcomeOf(err), "")
		return err
	}
	asym := len(ep.Secrets) > 0 && webhook.IsSigningKey(ep.Secrets[len(ep.Secrets)-1].Secret)
	secret, shown, err := newSecret(asym)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	until := now.Add(overlap)
	var kept []store.EndpointSecret
	for _, s := range ep.Secrets {
		if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
			continue // expired: dropped
		}
		if s.ExpiresAt == nil || s.ExpiresAt.After(until) {
			s.ExpiresAt = &until
		}
		kept = append(kept, s)
	}
	ep.Secrets = append(kept, store.EndpointSecret{Secret: secret, CreatedAt: now})
	ep.UpdatedAt = now
	err = es.SaveEndpoint(r.Context(), *ep)
	a.audit(r, map[string]string{"id": ep.ID, "overlap": overlap.String()}, 1, outcomeOf(err), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminapi.SecretRotated{Secret: shown, PreviousUntil: until,
		Signatures: len(ep.ActiveSecrets(now))})
	return nil
}

// testEndpoint: POST /endpoints/{id}/test sends a signed test fact (kind
// "endpoint.test") now, outside the queue, and answers what came back.
func (a *API) testEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := decodeBody(r, &struct{}{}, true); err != nil {
		return err
	}
	if a.o.Log == nil {
		return errorf(adminapi.CodeUnavailable, "writes need the audit table, which this ledger does not provide")
	}
	_, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	id, _ := newEndpointID()
	factID := "test_" + strings.TrimPrefix(id, "ep_")
	now := time.Now().UTC()
	body, _ := json.Marshal(events.Fact{Schema: events.SchemaLedgerV1, ID: factID, Tenant: ep.Tenant, Kind: "endpoint.test",
		Status: "TEST", OccurredAt: now, Detail: json.RawMessage(`{"endpoint_id":` + strconv.Quote(ep.ID) + `}`)})
	timeout := a.o.DeliveryTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	sender := webhook.NewSender(timeout, ep.AllowPrivate)
	defer sender.Close()
	res := sender.Send(context.WithoutCancel(r.Context()), webhook.Message{URL: ep.URL, Secrets: ep.ActiveSecrets(now),
		Headers: ep.Headers, ID: factID, Body: body, At: now})
	out := adminapi.EndpointTestResult{FactID: factID, Status: res.Status, LatencyMS: res.Latency.Milliseconds(),
		Response: res.Response, OK: res.OK()}
	if res.Err != nil {
		out.Error = res.Err.Error()
	}
	a.audit(r, map[string]string{"id": ep.ID, "fact_id": factID}, 1, "ok", "")
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listEndpointAttempts: GET /endpoints/{id}/attempts, newest first.
func (a *API) listEndpointAttempts(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "fact_id", "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyEndpointAttempts)
	if err != nil {
		return err
	}
	es, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	f := store.EndpointAttemptFilter{EndpointID: ep.ID, FactID: q.str("fact_id"), Limit: limit + 1}
	if after != nil {
		f.BeforeID = after.Num
	}
	atts, err := es.EndpointAttempts(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]adminapi.EndpointAttempt, 0, len(atts))
	for _, at := range atts {
		views = append(views, attemptView(at))
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(last adminapi.EndpointAttempt) cursor {
		return cursor{List: keyEndpointAttempts, Num: last.ID}
	}))
	return nil
}

// listEndpointDeadLetters: GET /endpoints/{id}/dead-letters, oldest first.
func (a *API) listEndpointDeadLetters(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	es, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	dls, err := es.EndpointDeadLetters(r.Context(), ep.ID, 0)
	if err != nil {
		return err
	}
	views := make([]adminapi.EndpointDeadLetter, 0, len(dls))
	for _, d := range dls {
		views = append(views, adminapi.EndpointDeadLetter{FactID: d.FactID, Subject: d.Subject, Attempts: d.Attempts,
			LastError: d.LastError, FailedAt: d.FailedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, adminapi.Page[adminapi.EndpointDeadLetter]{Items: views})
	return nil
}

// selectDeadLetters reads the request's dead letters of the endpoint.
func (a *API) selectDeadLetters(r *http.Request) (store.EndpointStore, *store.Endpoint, []store.EndpointDeadLetter, error) {
	var req adminapi.EndpointDeadLetterRequest
	if err := decodeBody(r, &req, false); err != nil {
		return nil, nil, nil, err
	}
	if req.All == (len(req.FactIDs) > 0) {
		return nil, nil, nil, badRequest("fact_ids", "name the facts, or set all (not both)")
	}
	if err := a.writable(); err != nil {
		return nil, nil, nil, err
	}
	es, ep, err := a.endpointOf(r)
	if err != nil {
		return nil, nil, nil, err
	}
	dls, err := es.EndpointDeadLetters(r.Context(), ep.ID, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	if !req.All {
		dls = slices.DeleteFunc(dls, func(d store.EndpointDeadLetter) bool { return !slices.Contains(req.FactIDs, d.FactID) })
	}
	return es, ep, dls, nil
}

// retryEndpointDeadLetters: POST /endpoints/{id}/dead-letters/retry
// queues the dead letters again (same webhook-id), then deletes them.
func (a *API) retryEndpointDeadLetters(w http.ResponseWriter, r *http.Request) error {
	es, ep, dls, err := a.selectDeadLetters(r)
	if err != nil {
		return err
	}
	tag := "retry-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	items := make([]deliveryq.Item, 0, len(dls))
	ids := make([]string, 0, len(dls))
	for _, d := range dls {
		items = append(items, deliveryq.Item{EndpointID: ep.ID, FactID: d.FactID, Subject: d.Subject, Body: d.Body,
			MsgID: ep.ID + ":" + d.FactID + ":" + tag})
		ids = append(ids, d.FactID)
	}
	if len(items) > 0 {
		err = deliveryq.Provision(r.Context(), a.o.JS, a.o.Names, 1, 0)
		if err == nil {
			err = deliveryq.Enqueue(r.Context(), a.o.JS, a.o.Names, items...)
		}
		if err == nil {
			_, err = es.DeleteEndpointDeadLetters(r.Context(), ep.ID, ids)
		}
	}
	a.audit(r, map[string]any{"id": ep.ID, "fact_ids": ids}, len(items), outcomeOf(err), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminapi.EndpointDeadLetterResult{Count: len(items)})
	return nil
}

// purgeEndpointDeadLetters: POST /endpoints/{id}/dead-letters/purge.
func (a *API) purgeEndpointDeadLetters(w http.ResponseWriter, r *http.Request) error {
	es, ep, dls, err := a.selectDeadLetters(r)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(dls))
	for _, d := range dls {
		ids = append(ids, d.FactID)
	}
	var n int64
	if len(ids) > 0 {
		n, err = es.DeleteEndpointDeadLetters(r.Context(), ep.ID, ids)
	}
	a.audit(r, map[string]any{"id": ep.ID, "fact_ids": ids}, int(n), outcomeOf(err), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminapi.EndpointDeadLetterResult{Count: int(n)})
	return nil
}

// replayToEndpoint: POST /endpoints/{id}/replay queues again every fact
// of the endpoint's tenant its filters select since a time (dry run:
// counts only).
func (a *API) replayToEndpoint(w http.ResponseWriter, r *http.Request) error {
	var req adminapi.EndpointReplayRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	since, err := time.Parse(time.RFC3339, req.Since)
	if err != nil {
		return badRequest("since", "%q: an RFC 3339 time", req.Since)
	}
	if err := a.writable(); err != nil {
		return err
	}
	_, ep, err := a.endpointOf(r)
	if err != nil {
		return err
	}
	tag := "replay-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if !req.DryRun {
		if err := deliveryq.Provision(r.Context(), a.o.JS, a.o.Names, 1, 0); err != nil {
			return err
		}
	}
	res, err := deliveryq.Replay(r.Context(), a.o.JS, a.o.Names, ep, since, req.DryRun, tag)
	if !req.DryRun {
		a.audit(r, map[string]any{"id": ep.ID, "since": since.UTC()}, res.Matched, outcomeOf(err), "")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminapi.EndpointReplayResult{Scanned: res.Scanned, Matched: res.Matched, DryRun: req.DryRun})
	return nil
}
