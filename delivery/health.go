package delivery

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/deliveryq"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// Endpoint health statuses, the Status of endpoint.status facts.
const (
	StatusWarning  = "WARNING"
	StatusDisabled = "DISABLED"
)

// deadLetter records the exhausted delivery, then ends its message.
func (r *runner) deadLetter(ctx context.Context, m jetstream.Msg, att store.EndpointAttempt, log zerolog.Logger) {
	s := r.s
	s.rec.add(att)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.o.Store.AddEndpointDeadLetter(dctx, store.EndpointDeadLetter{EndpointID: att.EndpointID, FactID: att.FactID,
		Subject: m.Headers().Get(deliveryq.HeaderFactSubject), Body: m.Data(), Attempts: att.Attempt, LastError: att.Error})
	if err != nil {
		log.Error().Err(err).Msg("delivery: dead letter not recorded; retrying in a minute")
		_ = m.NakWithDelay(time.Minute)
		return
	}
	if meta, err := m.Metadata(); err == nil {
		s.made.done(meta.Sequence.Stream)
	}
	s.m.deadLetters.WithLabelValues(att.EndpointID).Inc()
	log.Warn().Str("error", att.Error).Msg("delivery: retries exhausted; dead-lettered")
	_ = m.Term()
}

// succeeded clears the endpoint's failing state (written only when it
// was failing).
func (r *runner) succeeded(ctx context.Context) {
	if !r.health.isFailing() {
		return
	}
	ep := r.ep.Load()
	if _, err := r.s.o.Store.RecordEndpointOutcome(ctx, ep.ID, true, time.Now()); err != nil {
		r.s.log.Error().Err(err).Str("endpoint", ep.ID).Msg("delivery: record success")
		return
	}
	r.health.set(false)
}

// failed records a failure. Failing is measured from failing_since while
// attempts keep failing: a failure after a quiet period (quiet: no
// failure seen by this runner) starts it again. The WARNING fact
// always comes before the disable: at half of DisableAfter, or, when
// it is late (the failures paused, or a process restarted), now; the
// endpoint is then disabled once it has failed for DisableAfter and at
// least DisableAfter/2 after the warning.
func (r *runner) failed(ctx context.Context, at time.Time) {
	s := r.s
	id := r.ep.Load().ID
	prev := r.lastFailure.Swap(at.UnixNano())
	ep, err := s.o.Store.RecordEndpointOutcome(ctx, id, false, at)
	r.health.set(true) // after the write: a row read before it cannot clear it
	if err == nil && prev != 0 && ep.FailingSince != nil && ep.FailingSince.UnixNano() < prev &&
		at.Sub(time.Unix(0, prev)) >= s.quiet() {
		ep, err = s.o.Store.RestartEndpointFailing(ctx, id, at)
	}
	if err != nil {
		s.log.Error().Err(err).Str("endpoint", id).Msg("delivery: record failure")
		return
	}
	if ep.FailingSince == nil || !ep.Enabled {
		return
	}
	failing := at.Sub(*ep.FailingSince)
	switch {
	case failing < s.o.DisableAfter/2:
	case ep.WarnedAt == nil:
		first, err := s.o.Store.MarkEndpointWarned(ctx, ep.ID, at)
		if err != nil {
			s.log.Error().Err(err).Str("endpoint", ep.ID).Msg("delivery: mark warned")
			return
		}
		if first {
			disableAt := disableAt(ep.FailingSince, &at, s.o.DisableAfter)
			s.log.Warn().Str("endpoint", ep.ID).Time("disable_at", disableAt).Msg("delivery: endpoint failing; it will be disabled")
			s.publishHealth(ctx, ep, StatusWarning, "every attempt failed since "+ep.FailingSince.UTC().Format(time.RFC3339), &disableAt)
		}
	case !at.Before(disableAt(ep.FailingSince, ep.WarnedAt, s.o.DisableAfter)):
		r.disable(ctx, ep, "every attempt failed since "+ep.FailingSince.UTC().Format(time.RFC3339))
	}
}

// quiet is the gap between two failures that starts the failing anew:
// DisableAfter/2, or twice the schedule's longest delay if longer (the
// retries of one delivery are never a quiet period).
func (s *Stage) quiet() time.Duration {
	q := s.o.DisableAfter / 2
	for _, d := range s.o.Schedule {
		q = max(q, 2*d)
	}
	return q
}

// disableAt is when an endpoint failing since failingSince, warned at
// warnedAt, is disabled if it keeps failing: DisableAfter after it began
// failing, and never sooner than DisableAfter/2 after the warning.
func disableAt(failingSince, warnedAt *time.Time, disableAfter time.Duration) time.Time {
	t := failingSince.Add(disableAfter)
	if w := warnedAt.Add(disableAfter / 2); w.After(t) {
		t = w
	}
	return t
}

// disable disables ep; the process that changed it publishes the fact.
func (r *runner) disable(ctx context.Context, ep *store.Endpoint, reason string) {
	s := r.s
	r.off.Store(true)
	defer r.cancel()
	changed, err := s.o.Store.SetEndpointEnabled(ctx, ep.ID, false, reason)
	if err != nil {
		s.log.Error().Err(err).Str("endpoint", ep.ID).Msg("delivery: disable")
		return
	}
	if changed {
		// The endpoint's held deliveries (some nak'd for hours) are due
		// at once when it is enabled again.
		s.resetQueue(ctx, ep.ID)
		s.m.disabled.WithLabelValues(ep.ID).Inc()
		s.log.Warn().Str("endpoint", ep.ID).Str("reason", reason).Msg("delivery: endpoint disabled")
		s.publishHealth(ctx, ep, StatusDisabled, reason, nil)
	}
}

// healthDetail is the detail of an endpoint.status fact.
type healthDetail struct {
	EndpointID   string     `json:"endpoint_id"`
	Host         string     `json:"host"`
	Reason       string     `json:"reason"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	DisableAt    *time.Time `json:"disable_at,omitempty"`
}

// publishHealth publishes an endpoint.status fact on QYS_LEDGER.
func (s *Stage) publishHealth(ctx context.Context, ep *store.Endpoint, status, reason string, disableAt *time.Time) {
	host := ""
	if u, err := url.Parse(ep.URL); err == nil {
		host = u.Host // never the path or query, which may hold a token
	}
	now := time.Now().UTC()
	detail, _ := json.Marshal(healthDetail{EndpointID: ep.ID, Host: host, Reason: reason, FailingSince: ep.FailingSince, DisableAt: disableAt})
	since := now.UnixNano()
	if ep.FailingSince != nil {
		since = ep.FailingSince.UnixNano()
	}
	f := events.Fact{Schema: events.SchemaLedgerV1, ID: "endpoint-" + ep.ID + "-" + status + "-" + strconv.FormatInt(since, 36),
		Tenant: ep.Tenant, Kind: events.FactEndpointStatus, Status: status, Confirmed: true, OccurredAt: now, Detail: detail}
	body, err := json.Marshal(f)
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.o.JS.Publish(pctx, s.o.Names.LedgerEndpointSubject(ep.Tenant, status), body, jetstream.WithMsgID(f.ID)); err != nil {
		s.log.Error().Err(err).Str("endpoint", ep.ID).Str("status", status).Msg("delivery: health fact not published")
	}
}
