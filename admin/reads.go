package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// Listing keys of the cursors.
const (
	keyCertifications = "certifications"
	keyEvents         = "events"
	keyDeadLetters    = "dead-letters"
)

// maxScan bounds the rows read for the listings the ledger cannot page
// itself (certifications, dead letters): they are read whole, up to this
// many, and paged here.
const maxScan = 100_000

// listCertifications: GET /certifications?tenant=, newest first;
// filters kind, status (the raw code), state (lifecycle states, comma-
// separated), confirmed and pending (true or false).
func (a *API) listCertifications(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "tenant", "kind", "status", "state", "confirmed", "pending", "limit", "cursor")
	if err != nil {
		return err
	}
	tenant, err := tenantParam(q, true)
	if err != nil {
		return err
	}
	f, err := certificationFilterOf(q)
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyCertifications)
	if err != nil {
		return err
	}
	all, err := a.o.Ledger.Certifications(r.Context(), tenant, maxScan)
	if err != nil {
		return err
	}
	unmasked := roleOf(r).seesPersonalData()
	var views []adminapi.Certification
	for _, c := range all {
		// The ledger orders by updated_at DESC, request_id ASC.
		if after != nil && (c.UpdatedAt.After(after.UpdatedAt) ||
			c.UpdatedAt.Equal(after.UpdatedAt) && c.RequestID <= after.ID) {
			continue
		}
		if !f.keeps(&c) {
			continue
		}
		views = append(views, viewCertification(c, unmasked))
		if len(views) > limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(last adminapi.Certification) cursor {
		return cursor{List: keyCertifications, UpdatedAt: last.UpdatedAt, ID: last.RequestID}
	}))
	return nil
}

// certificationFilter is the filters of GET /certifications.
type certificationFilter struct {
	kind, status       string
	states             map[string]bool
	confirmed, pending *bool
}

func certificationFilterOf(q query) (certificationFilter, error) {
	f := certificationFilter{kind: q.str("kind"), status: q.str("status"), states: map[string]bool{}}
	if f.kind != "" && f.kind != "personal" && f.kind != "company" {
		return f, badRequest("kind", "%q is not personal or company", f.kind)
	}
	for _, st := range q.list("state") {
		st = strings.ToUpper(st)
		if !lifecycle.ValidCertState(st) {
			return f, badRequest("state", "%q is not one of %s", st, strings.Join(lifecycle.CertStates, ", "))
		}
		f.states[st] = true
	}
	var err error
	if f.confirmed, err = q.boolean("confirmed"); err != nil {
		return f, err
	}
	f.pending, err = q.boolean("pending")
	return f, err
}

func (f certificationFilter) keeps(c *store.Certification) bool {
	return (f.kind == "" || c.Kind == f.kind) && (f.status == "" || c.Status == f.status) &&
		(len(f.states) == 0 || f.states[c.CertState()]) &&
		(f.confirmed == nil || c.Confirmed == *f.confirmed) && (f.pending == nil || c.Pending == *f.pending)
}

// getCertification: GET /certifications/{tenant}/{request_id}, with the
// detail (masked for viewers) and, for operators, the kept answer.
func (a *API) getCertification(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	tenant, id := pathParam(r, "tenant"), pathParam(r, "request_id")
	if !events.ValidToken(tenant) {
		return errorf(adminapi.CodeNotFound, "no tenant %q", tenant)
	}
	c, err := a.o.Ledger.Certification(r.Context(), tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(adminapi.CodeNotFound, "no certification %s in tenant %s", id, tenant)
	}
	if err != nil {
		return err
	}
	unmasked := roleOf(r).seesPersonalData()
	v := viewCertification(*c, unmasked)
	v.Detail = jsonOut(c.Detail, unmasked)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// listEvents: GET /events?tenant=&contract_id=, oldest first.
func (a *API) listEvents(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "tenant", "contract_id", "limit", "cursor")
	if err != nil {
		return err
	}
	tenant, err := tenantParam(q, true)
	if err != nil {
		return err
	}
	contractID, err := q.required("contract_id")
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyEvents)
	if err != nil {
		return err
	}
	evs, err := a.o.Ledger.Events(r.Context(), tenant, contractID)
	if err != nil {
		return err
	}
	unmasked := roleOf(r).seesPersonalData()
	var views []adminapi.Event
	for i, e := range evs {
		if after != nil && int64(i) <= after.Num {
			continue
		}
		views = append(views, viewEvent(e, unmasked))
		if len(views) > limit {
			break
		}
	}
	// The events of a contract only grow at the end (applied_at, id), so
	// an index is a stable position.
	first := int64(0)
	if after != nil {
		first = after.Num + 1
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(adminapi.Event) cursor {
		return cursor{List: keyEvents, Num: first + int64(limit) - 1}
	}))
	return nil
}

// listDeadLetters: GET /dead-letters?tenant=&consumer=&contract_id=, oldest
// first, without payloads.
func (a *API) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "tenant", "consumer", "contract_id", "limit", "cursor")
	if err != nil {
		return err
	}
	tenant, err := tenantParam(q, false)
	if err != nil {
		return err
	}
	consumer, contractID := q.str("consumer"), q.str("contract_id")
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyDeadLetters)
	if err != nil {
		return err
	}
	all, err := a.o.Ledger.DeadLetters(r.Context(), maxScan)
	if err != nil {
		return err
	}
	unmasked := roleOf(r).seesPersonalData()
	var views []adminapi.DeadLetter
	for _, d := range all {
		if (after != nil && d.ID <= after.Num) || (tenant != "" && d.Tenant != tenant) ||
			(consumer != "" && d.Consumer != consumer) {
			continue
		}
		if contractID != "" {
			if e := envelopeOf(&d); e == nil || e.ContractID != contractID {
				continue
			}
		}
		views = append(views, viewDeadLetter(d, unmasked, false))
		if len(views) > limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(last adminapi.DeadLetter) cursor {
		return cursor{List: keyDeadLetters, Num: last.ID}
	}))
	return nil
}

// getDeadLetter: GET /dead-letters/{id}, with its payload.
func (a *API) getDeadLetter(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	raw := pathParam(r, "id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return errorf(adminapi.CodeBadRequest, "id: %q is not a dead-letter id (a positive integer)", raw)
	}
	d, err := a.o.Ledger.DeadLetter(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(adminapi.CodeNotFound, "no dead letter %d", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewDeadLetter(*d, roleOf(r).seesPersonalData(), true))
	return nil
}
