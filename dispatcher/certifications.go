package dispatcher

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/qyshook/qyshook/confirm"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// applyCertification confirms a certification event through the
// certification-result API, as contracts are confirmed through the
// detail, and commits the API's state (flagged confirmed) with its fact.
// Company certifications are looked up by the callback's requestId,
// personal ones by its authId (events.Auth.RequestID either way). When
// the tenant has no API, the API does not know the request, or its
// answer has a shape qyshook does not recognise, the callback's own word
// is recorded flagged unconfirmed with the reason (store.CertReason*; the
// reconciler polls it); any other API failure is returned, so the event
// is redelivered with a delay like a failed contract confirmation.
func (d *Dispatcher) applyCertification(ctx context.Context, env *events.Envelope, streamSeq uint64) error {
	cert, err := d.confirmCertification(ctx, env)
	if err != nil {
		return err
	}
	if env.Source == events.SourceReconcile && !cert.Confirmed {
		// A reconciler trigger carries the state the API showed then, not
		// a callback's word: unconfirmed now, it leaves the row's state as
		// it is (only the reason and the answer kept move).
		if row, err := d.cfg.Ledger.Certification(ctx, cert.Tenant, cert.RequestID); err == nil {
			cert.Status, cert.State, cert.Success = row.Status, row.CertState(), row.Success
		}
	}
	ev := eventRow(env)
	ev.StreamSeq = streamSeq
	ch := store.CertificationChange{Event: ev, Certification: cert, Facts: d.certificationFacts(env, &cert)}
	actx, cancel := context.WithTimeout(ctx, d.cfg.EventTimeout)
	defer cancel()
	res, err := d.cfg.Ledger.ApplyCertificationChange(actx, ch)
	if isDuplicate(err) {
		d.countApplied("duplicate")
		return nil
	}
	if err != nil {
		return wrapf(err, "certification %s", env.ID)
	}
	if !res.Changed {
		d.countApplied("unchanged")
		return nil
	}
	d.countApplied("changed")
	d.log.Info().Str("event_id", env.ID).Str("kind", env.Kind).Str("state", cert.CertState()).
		Bool("confirmed", cert.Confirmed).Str("reason", cert.Reason).Msg("certification updated")
	return nil
}

// certificationFromEnvelope is the callback's word, unconfirmed.
func certificationFromEnvelope(env *events.Envelope) store.Certification {
	a := env.Auth
	kind := confirm.CertPersonal
	if env.Kind == events.KindAuthCompany {
		kind = confirm.CertCompany
	}
	state := lifecycle.CertState(a.Status, a.Success)
	if strings.Contains(env.Type, "_AUTH_") {
		// Format B: the callback type is the outcome (USER_AUTH_EXPIRED,
		// COMPANY_AUTH_INVALID…), whatever its authStatus says.
		state = lifecycle.CertState(env.Type, a.Success)
	}
	return store.Certification{
		Tenant: env.Tenant, RequestID: a.RequestID, Kind: kind, Status: a.Status, Success: state == lifecycle.CertSuccess,
		State: state, Mode: a.Mode, Name: a.Name, FailReason: a.FailReason,
		Reason: store.CertReasonNoAPI, Detail: env.Payload, UpdatedAt: time.Now().UTC(),
	}
}

// confirmCertification returns the certification as the API reports it
// (Confirmed), or the callback's word with the reason it is not
// confirmed.
func (d *Dispatcher) confirmCertification(ctx context.Context, env *events.Envelope) (store.Certification, error) {
	cert := certificationFromEnvelope(env)
	api, _ := d.cfg.APIs[env.Tenant].(confirm.CertificationAPI)
	if api == nil {
		return cert, nil
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.EventTimeout)
	defer cancel()
	start := time.Now()
	res, err := confirm.FetchCertificationResult(cctx, api, cert.Kind, cert.RequestID)
	d.metrics.apiSeconds.WithLabelValues("auth_result").Observe(time.Since(start).Seconds())
	switch {
	case errors.Is(err, qys.ErrNotFound) || err == nil && res.Reading.NotFound:
		d.log.Warn().Str("event_id", env.ID).Str("kind", env.Kind).Msg("certification unknown to the API; recorded unconfirmed")
		cert.Reason = store.CertReasonNotFound
		return cert, nil
	case err != nil:
		return cert, wrapf(err, "certification result %s", env.ID)
	case !res.Reading.Confirms():
		// An answer qyshook cannot read confirms nothing, and is never
		// taken as success or failure: it is kept for an operator.
		d.log.Warn().Str("event_id", env.ID).Str("kind", env.Kind).Str("why", res.Reading.Detail).
			Msg("certification result not recognised; recorded unconfirmed")
		cert.Reason, cert.Answer = store.CertReasonUnrecognized, res.Raw
		return cert, nil
	}
	state := res.Reading.State
	cert.Status, cert.State, cert.Success, cert.Confirmed, cert.Detail = res.Status, state, state == lifecycle.CertSuccess, true, res.Raw
	cert.Reason = ""
	if res.Mode != "" {
		cert.Mode = res.Mode
	}
	if res.Name != "" {
		cert.Name = res.Name
	}
	if cert.Success {
		cert.FailReason = ""
	}
	return cert, nil
}

// certificationFacts is the certification-status fact of a change. Its
// id covers the state reached, the status, the confirmation and (through
// AfterPrevious, completed by the store) the state it came from, so a
// replay produces the same id.
func (d *Dispatcher) certificationFacts(env *events.Envelope, c *store.Certification) []store.Fact {
	state := c.CertState()
	f := events.Fact{
		Schema: events.SchemaLedgerV1, Tenant: c.Tenant, Kind: events.FactCertificationStatus, Status: state,
		Confirmed: c.Confirmed, Source: env.Source, CauseEventID: env.ID, OccurredAt: time.Now().UTC(),
		Certification: &events.FactCertification{RequestID: c.RequestID, Kind: c.Kind, Status: c.Status,
			Success: c.Success, Mode: c.Mode, FailReason: c.FailReason, UnconfirmedReason: c.Reason},
	}
	f.ID = factID("certification", c.Tenant, c.Kind, c.RequestID, state, c.Status, boolKey(c.Confirmed))
	fact := d.encodeFact(d.cfg.Names.LedgerCertificationSubject(c.Tenant, state, c.Confirmed), f)
	fact.AfterPrevious = true
	return []store.Fact{fact}
}
