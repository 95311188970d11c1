package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// CertificationAPI is what confirming a certification needs of a tenant's
// open API (*qys.Client has it). A tenant whose API lacks it, or that has
// no API, gets its certifications recorded unconfirmed.
type CertificationAPI interface {
	CompanyAuthResult(ctx context.Context, q qys.CompanyAuthQuery) (*qys.CompanyAuthResult, error)
	PersonalAuthResult(ctx context.Context, q qys.PersonalAuthQuery) (*qys.PersonalAuthResult, error)
}

// Certification kinds as the ledger names them.
const (
	certCompany  = "company"
	certPersonal = "personal"
)

// applyCertification confirms a certification event through the
// certification-result API, as contracts are confirmed through the
// detail, and commits the API's state (flagged confirmed) with its fact.
// Company certifications are looked up by the callback's requestId,
// personal ones by its authId (events.Auth.RequestID either way). When
// the tenant has no API, or the API does not know the request, the
// callback's own fields are recorded flagged unconfirmed (the reconciler
// polls them); any other API failure is returned, so the event is
// redelivered with a delay like a failed contract confirmation.
func (d *Dispatcher) applyCertification(ctx context.Context, env *events.Envelope) error {
	cert, err := d.confirmCertification(ctx, env)
	if err != nil {
		return err
	}
	ch := store.CertificationChange{Event: eventRow(env), Certification: cert, Facts: d.certificationFacts(env, &cert)}
	actx, cancel := context.WithTimeout(ctx, d.cfg.EventTimeout)
	defer cancel()
	res, err := d.cfg.Ledger.ApplyCertificationChange(actx, ch)
	if isDuplicate(err) {
		d.metrics.applied.WithLabelValues("duplicate").Inc()
		return nil
	}
	if err != nil {
		return wrapf(err, "certification %s", env.ID)
	}
	if !res.Changed {
		d.metrics.applied.WithLabelValues("unchanged").Inc()
		return nil
	}
	d.metrics.applied.WithLabelValues("changed").Inc()
	d.log.Info().Str("event_id", env.ID).Str("kind", env.Kind).Str("state", lifecycle.CertState(cert.Status, cert.Success)).
		Bool("confirmed", cert.Confirmed).Msg("certification updated")
	return nil
}

// certificationFromEnvelope is the callback's word, unconfirmed.
func certificationFromEnvelope(env *events.Envelope) store.Certification {
	a := env.Auth
	kind := certPersonal
	if env.Kind == events.KindAuthCompany {
		kind = certCompany
	}
	return store.Certification{
		Tenant: env.Tenant, RequestID: a.RequestID, Kind: kind, Status: a.Status, Success: a.Success,
		Mode: a.Mode, Name: a.Name, FailReason: a.FailReason, Detail: env.Payload, UpdatedAt: time.Now().UTC(),
	}
}

// confirmCertification returns the certification as the API reports it
// (Confirmed), or the callback's word when it cannot be confirmed.
func (d *Dispatcher) confirmCertification(ctx context.Context, env *events.Envelope) (store.Certification, error) {
	cert := certificationFromEnvelope(env)
	api, _ := d.cfg.APIs[env.Tenant].(CertificationAPI)
	if api == nil {
		return cert, nil
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.EventTimeout)
	defer cancel()
	start := time.Now()
	var (
		status, mode, name string
		raw                json.RawMessage
		err                error
	)
	if cert.Kind == certCompany {
		var r *qys.CompanyAuthResult
		if r, err = api.CompanyAuthResult(cctx, qys.CompanyAuthQuery{RequestID: cert.RequestID}); err == nil {
			status, name, raw = r.Status, r.CompanyName, r.Raw
		}
	} else {
		var r *qys.PersonalAuthResult
		if r, err = api.PersonalAuthResult(cctx, qys.PersonalAuthQuery{AuthID: cert.RequestID}); err == nil {
			status, mode, raw = r.Status, r.Mode, r.Raw
		}
	}
	d.metrics.apiSeconds.WithLabelValues("auth_result").Observe(time.Since(start).Seconds())
	switch {
	case errors.Is(err, qys.ErrNotFound):
		d.log.Warn().Str("event_id", env.ID).Str("kind", env.Kind).Msg("certification unknown to the API; recorded unconfirmed")
		return cert, nil
	case err != nil:
		return cert, wrapf(err, "certification result %s", env.ID)
	case status == "":
		// An answer without a status confirms nothing.
		d.log.Warn().Str("event_id", env.ID).Str("kind", env.Kind).Msg("certification result without a status; recorded unconfirmed")
		return cert, nil
	}
	cert.Status, cert.Success, cert.Confirmed, cert.Detail = status, status == qys.AuthStatusSuccess, true, raw
	if mode != "" {
		cert.Mode = mode
	}
	if name != "" {
		cert.Name = name
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
	state := lifecycle.CertState(c.Status, c.Success)
	f := events.Fact{
		Schema: events.SchemaLedgerV1, Tenant: c.Tenant, Kind: events.FactCertificationStatus, Status: state,
		Confirmed: c.Confirmed, Source: env.Source, CauseEventID: env.ID, OccurredAt: time.Now().UTC(),
		Certification: &events.FactCertification{RequestID: c.RequestID, Kind: c.Kind, Status: c.Status,
			Success: c.Success, Mode: c.Mode, FailReason: c.FailReason},
	}
	f.ID = factID("certification", c.Tenant, c.Kind, c.RequestID, state, c.Status, boolKey(c.Confirmed))
	fact := d.encodeFact(d.cfg.Names.LedgerCertificationSubject(c.Tenant, state), f)
	fact.AfterPrevious = true
	return []store.Fact{fact}
}
