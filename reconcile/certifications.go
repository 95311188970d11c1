package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/confirm"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// certifications polls the tenant's pending certifications (unconfirmed,
// or confirmed below FAILED: lifecycle.CertPending) not updated for
// StuckAfter, least recently updated first, one page (StuckPage) a pass.
// Each one the certification-result API shows in a state that advances
// the row (lifecycle.CertAdvances) gets a RECONCILE trigger on
// QYS_CALLBACKS, which the dispatcher confirms and applies like a
// callback: a success callback 契约锁 gave up on still ends in the ledger.
// One the API cannot confirm (unknown id, an answer not recognised, a
// failed call) is counted and named in the report, never skipped
// silently. A tenant API without the certification-result calls
// (confirm.CertificationAPI) is skipped.
func (r *Reconciler) certifications(ctx context.Context, tenant string, api API, rep *Report) error {
	capi, ok := api.(confirm.CertificationAPI)
	if !ok {
		return nil
	}
	rows, err := r.pendingPage(ctx, tenant)
	if err != nil {
		return fmt.Errorf("reconcile: pending certifications: %w", err)
	}
	for _, row := range rows {
		res, err := confirm.FetchCertificationResult(ctx, capi, row.Kind, row.RequestID)
		if err == nil && !res.Reading.Confirms() {
			err = errors.New(res.Reading.Detail)
			if res.Reading.NotFound {
				err = qys.ErrNotFound
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// One certification the API will not confirm must not stop
			// the pass; it is reported.
			if !errors.Is(err, qys.ErrNotFound) {
				r.cfg.Logger.Warn().Err(err).Str("kind", row.Kind).Msg("reconcile: certification not confirmed")
			}
			rep.CertificationsUnconfirmed++
			if len(rep.UnconfirmedCertifications) < MaxReportedIDs {
				rep.UnconfirmedCertifications = append(rep.UnconfirmedCertifications, row.RequestID)
			}
			continue
		}
		rep.CertificationsChecked++
		old := row.CertView()
		next := lifecycle.CertView{State: res.Reading.State, Confirmed: true}
		if !lifecycle.CertAdvances(&old, next) {
			continue
		}
		if err := r.triggerCertification(ctx, rep, row, res.Reading.State); err != nil {
			return err
		}
	}
	return nil
}

// pendingPage reads this pass's page of the tenant's pending
// certifications: the one after the last page read, and from the oldest
// again once a page comes back short. Each pass moves on, so rows that stay
// pending for good never hold back the newer ones.
func (r *Reconciler) pendingPage(ctx context.Context, tenant string) ([]store.Certification, error) {
	r.mu.Lock()
	after := r.certAfter[tenant]
	r.mu.Unlock()
	before := r.cfg.Now().Add(-r.cfg.StuckAfter)
	rows, err := r.cfg.Ledger.PendingCertifications(ctx, tenant, before, after, r.cfg.StuckPage)
	if err == nil && len(rows) == 0 && after != nil {
		after = nil
		rows, err = r.cfg.Ledger.PendingCertifications(ctx, tenant, before, nil, r.cfg.StuckPage)
	}
	if err != nil {
		return nil, err
	}
	var next *store.CertKey
	if len(rows) >= r.cfg.StuckPage {
		k := rows[len(rows)-1].Key()
		next = &k
	}
	r.mu.Lock()
	if r.certAfter == nil {
		r.certAfter = map[string]*store.CertKey{}
	}
	r.certAfter[tenant] = next
	r.mu.Unlock()
	return rows, nil
}

// triggerCertification publishes a RECONCILE event for one certification
// (kind auth.company or auth.personal, status the state word the API
// showed; the dispatcher asks the API again before it applies it). Its id
// covers that state and the hour of the pass, so repeated passes collapse
// in the duplicate window and, once applied, in the ledger's events.
func (r *Reconciler) triggerCertification(ctx context.Context, rep *Report, row store.Certification, status string) error {
	kind := events.KindAuthPersonal
	if row.Kind == "company" {
		kind = events.KindAuthCompany
	}
	payload, _ := json.Marshal(map[string]string{"reason": "pending", "status": status})
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: row.Tenant, Kind: kind, Type: TypeReconcile,
		Auth:       &events.Auth{RequestID: row.RequestID, Status: status, Success: status == lifecycle.CertSuccess},
		ReceivedAt: r.cfg.Now().UTC(), Format: "reconcile", Source: events.SourceReconcile, Payload: payload,
	}
	// The id covers the hour of the pass: repeated passes collapse, but a
	// trigger the dispatcher could not confirm (the API changed its mind,
	// or did not know the id for a moment) does not block every later one.
	hour := r.cfg.Now().UTC().Truncate(time.Hour).Format(time.RFC3339)
	env.ID = events.EventID(row.Tenant, kind, row.RequestID, TypeReconcile, status, "pending@"+hour)
	data, err := env.Encode()
	if err != nil {
		return fmt.Errorf("reconcile: encode: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ack, err := r.cfg.JS.Publish(pctx, r.cfg.Names.CallbackSubject(row.Tenant, kind, TypeReconcile), data, jetstream.WithMsgID(env.ID))
	if err != nil {
		return fmt.Errorf("reconcile: publish certification trigger: %w", err)
	}
	if ack.Duplicate {
		return nil
	}
	rep.Triggered++
	r.cfg.Logger.Info().Str("kind", kind).Str("status", status).Msg("reconcile trigger (certification)")
	return nil
}
