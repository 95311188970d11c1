package admin

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// statusRE is the shape of a 契约锁 status (SIGNING, FORCE_END, …).
var statusRE = regexp.MustCompile(`^[A-Z][A-Z_]{0,31}$`)

const keyContracts = "contracts"

// listContracts: GET /contracts, newest update first.
func (a *API) listContracts(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "tenant", "status", "subject", "id", "id_prefix", "biz_id", "updated_since", "updated_before", "limit", "cursor",
		"total")
	if err != nil {
		return err
	}
	f, err := contractFilter(q)
	if err != nil {
		return err
	}
	cs, err := a.o.Ledger.Contracts(r.Context(), f)
	if err != nil {
		return err
	}
	unmasked := roleOf(r).seesPersonalData()
	views := make([]adminapi.Contract, 0, len(cs))
	for _, c := range cs {
		views = append(views, viewContract(c, unmasked).Contract)
	}
	page := adminapi.ContractPage{Page: paged(views, f.Limit-1, func(last adminapi.Contract) cursor {
		return cursor{List: keyContracts, UpdatedAt: last.UpdatedAt, Tenant: last.Tenant, ID: last.ID}
	})}
	// ?total=true counts what the filters select, every page together.
	want, err := q.boolean("total")
	if err != nil {
		return err
	}
	if counter, ok := a.o.Ledger.(contractCounter); ok && want != nil && *want {
		all := f
		all.After, all.Limit = nil, 0
		n, err := counter.CountContracts(r.Context(), all)
		if err != nil {
			return err
		}
		page.Total = &n
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// contractCounter is a ledger that counts a contract filter's rows (the
// SQL ledgers do).
type contractCounter interface {
	CountContracts(ctx context.Context, f store.ContractFilter) (int64, error)
}

// contractFilter validates the query; its Limit is one more than the page
// so the listing knows whether more follow.
func contractFilter(q query) (store.ContractFilter, error) {
	f := store.ContractFilter{Subject: q.str("subject"), ID: q.str("id"), IDPrefix: q.str("id_prefix"), BizID: q.str("biz_id")}
	var err error
	if f.Tenant, err = tenantParam(q, false); err != nil {
		return f, err
	}
	f.Status = q.list("status")
	for _, s := range f.Status {
		if !statusRE.MatchString(s) {
			return f, badRequest("status", "%q is not a status such as SIGNING or COMPLETE (upper case, comma-separated)", s)
		}
	}
	if f.UpdatedSince, err = q.time("updated_since"); err != nil {
		return f, err
	}
	if f.UpdatedBefore, err = q.time("updated_before"); err != nil {
		return f, err
	}
	if !f.UpdatedSince.IsZero() && !f.UpdatedBefore.IsZero() && !f.UpdatedSince.Before(f.UpdatedBefore) {
		return f, badRequest("updated_since", "must be before updated_before")
	}
	if f.Limit, err = q.limit(); err != nil {
		return f, err
	}
	f.Limit++
	c, err := q.cursor(keyContracts)
	if err != nil {
		return f, err
	}
	if c != nil {
		f.After = &store.ContractCursor{UpdatedAt: c.UpdatedAt, Tenant: c.Tenant, ID: c.ID}
	}
	return f, nil
}

// tenantParam reads ?tenant=, checked like a tenant name.
func tenantParam(q query, required bool) (string, error) {
	t := q.str("tenant")
	if t == "" && required {
		return "", badRequest("tenant", "required")
	}
	if t != "" && !events.ValidToken(t) {
		return "", badRequest("tenant", "%q is not a tenant name (letters, digits, '-' and '_', 1-64)", t)
	}
	return t, nil
}

// getContract: GET /contracts/{tenant}/{id}, with signatories, documents
// and the events applied to it, oldest first.
func (a *API) getContract(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	tenant, id := pathParam(r, "tenant"), pathParam(r, "id")
	if !events.ValidToken(tenant) {
		return errorf(adminapi.CodeNotFound, "no tenant %q", tenant)
	}
	c, err := a.o.Ledger.Contract(r.Context(), tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(adminapi.CodeNotFound, "no contract %s in tenant %s", id, tenant)
	}
	if err != nil {
		return err
	}
	evs, err := a.o.Ledger.Events(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	unmasked := roleOf(r).seesPersonalData()
	v := viewContract(*c, unmasked)
	v.Detail = jsonOut(c.Detail, unmasked)
	v.Events = []adminapi.Event{}
	for _, e := range evs {
		ev := viewEvent(e, unmasked)
		if ev.LogIndex, err = a.lastLogIndex(r.Context(), receiptlog.KindEvent, e.Tenant, e.ID); err != nil {
			return err
		}
		v.Events = append(v.Events, ev)
	}
	for i := range v.Documents {
		if v.Documents[i].LogIndex, err = a.lastLogIndex(r.Context(), receiptlog.KindDocument, tenant, v.Documents[i].ID); err != nil {
			return err
		}
	}
	if v.LogIndexes, err = a.logIndexes(r.Context(), receiptlog.KindContract, tenant, id); err != nil {
		return err
	}
	if v.Signatories == nil {
		v.Signatories = []adminapi.Signatory{}
	}
	if v.Documents == nil {
		v.Documents = []adminapi.Document{}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
