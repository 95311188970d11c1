package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// errNoNoticeLedger: the ledger cannot record notices (it lacks
// store.NoticeLedger); permanent, so the event is dead-lettered and can be
// retried once the ledger can.
var errNoNoticeLedger = errors.New("the ledger cannot record notices")

// applyNotice records a notice event (seal audit, signing or company
// authorisation, physical seal) and its fact. Nothing confirms a notice:
// there is no open-API call to ask, so the fact says confirmed: false and
// carries the payload as received. A redelivery changes nothing (the
// event id), and the fact id is derived from the event's, so a replay
// under the same id publishes nothing new.
func (d *Dispatcher) applyNotice(ctx context.Context, env *events.Envelope, streamSeq uint64) error {
	nl, ok := d.cfg.Ledger.(store.NoticeLedger)
	if !ok {
		return permanent(reasonStore, errNoNoticeLedger)
	}
	actx, cancel := context.WithTimeout(ctx, d.cfg.EventTimeout)
	defer cancel()
	ev := eventRow(env)
	ev.StreamSeq = streamSeq
	err := nl.ApplyNotice(actx, ev, d.noticeFacts(env))
	switch {
	case isDuplicate(err):
		d.countApplied("duplicate")
		return nil
	case err != nil:
		return wrapf(err, "notice %s", env.ID)
	}
	d.countApplied("changed")
	d.log.Info().Str("event_id", env.ID).Str("kind", env.Kind).Str("type", env.Type).Msg("notice recorded")
	return nil
}

// noticeFacts is the fact of a notice, published on
// qys.ledger.<tenant>.notice.<kind>.<type>.
func (d *Dispatcher) noticeFacts(env *events.Envelope) []store.Fact {
	f := events.Fact{
		Schema: events.SchemaLedgerV1, Tenant: env.Tenant, Kind: events.FactKindNotice, Status: env.Type,
		Confirmed: false, Source: env.Source, CauseEventID: env.ID, OccurredAt: time.Now().UTC(),
		Notice: &events.FactNotice{Kind: env.Kind, Type: env.Type, ReceivedAt: env.ReceivedAt.UTC()},
	}
	if n := env.Notice; n != nil {
		f.Notice.Key = n.Key
	}
	if len(env.Payload) <= maxFactDetail && json.Valid(env.Payload) {
		f.Detail = env.Payload
	}
	// From the notice's identity, not the event id: a replay (which gets an
	// event id of its own) then repeats the fact id, and the outbox keeps one.
	f.ID = factID("notice", env.Tenant, env.Kind, f.Notice.Key, noticeDigest(env))
	return []store.Fact{d.encodeFact(d.cfg.Names.LedgerNoticeSubject(env.Tenant, env.Kind, env.Type), f)}
}

func noticeDigest(env *events.Envelope) string {
	if env.Notice == nil {
		return env.ID
	}
	return env.Notice.Digest
}
