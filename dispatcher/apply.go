package dispatcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"go.opentelemetry.io/otel/codes"

	"github.com/qyshook/qyshook/confirm"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// confirm fetches the detail of a group's contract once. A tenant
// without API credentials keeps the callback's own fields (unconfirmed).
func (d *Dispatcher) confirm(ctx context.Context, g *group) {
	first := g.deliveries[0].env
	g.api = d.cfg.APIs[first.Tenant]
	if g.api == nil {
		return
	}
	ctx, span := startConfirm(ctx, g)
	defer span.End()
	dctx, cancel := context.WithTimeout(ctx, d.cfg.EventTimeout)
	start := time.Now()
	// The instant the fetch began orders this view against the views of
	// other appliers (the detail carries no update time of its own).
	g.fetchedAt = confirm.FetchTime(start)
	c, err := g.api.ContractDetail(dctx, qys.ContractQuery{ContractID: first.ContractID})
	// And the instant its answer was read: fetches order only when one
	// ended before the other began (lifecycle.Advances).
	g.fetchEndedAt = confirm.FetchTime(time.Now())
	cancel()
	d.metrics.apiSeconds.WithLabelValues("detail").Observe(time.Since(start).Seconds())
	switch {
	case err != nil:
		span.SetStatus(codes.Error, err.Error())
		g.failAll(wrapf(err, "detail %s", first.ContractID))
	case string(c.ID) != "" && string(c.ID) != first.ContractID:
		g.failAll(permanent(reasonAPI, errors.New("detail answered another contract id")))
	default:
		if c.ID == "" {
			c.ID = qys.ID(first.ContractID) // a detail without its id still belongs to this contract
		}
		g.detail = c
	}
}

// signed reports whether the documents of a contract in status must be
// archived (lifecycle.Signed).
func signed(status string) bool { return lifecycle.Signed(status) }

// change is the ledger change for one event: the detail when confirmed,
// else the callback's own fields flagged unconfirmed.
func (d *Dispatcher) change(env *events.Envelope, detail *qys.Contract) store.ContractChange {
	c := contractFromEnvelope(env)
	if detail != nil {
		c = confirm.ContractFromDetail(env.Tenant, detail)
	}
	ch := store.ContractChange{
		Event:    eventRow(env),
		Contract: c,
		Facts:    d.contractFacts(env, &c),
	}
	// A contract confirmed signed queues its documents (and the optional
	// signed bundle) for the archive stage in the same transaction.
	forcedEnd := detail != nil && (c.Status == lifecycle.ForceEnd || c.Status == lifecycle.End)
	if forcedEnd && slices.Contains(d.cfg.ArchiveItems, ItemEndSignAttachment) {
		ch.ArchiveDocuments = true
		ch.Contract.Documents = append(ch.Contract.Documents, itemDocument(c.ID, ItemEndSignAttachment))
		if d.cfg.ArchiveOperationLog {
			oplog := c.ID + store.OplogSuffix
			ch.Contract.Documents = append(ch.Contract.Documents, store.Document{
				ID: oplog, ContractID: c.ID, Title: "operation log"})
			ch.RefreshDocuments = []string{oplog}
		}
	}
	if detail != nil && signed(c.Status) {
		ch.ArchiveDocuments = true
		for _, item := range d.cfg.ArchiveItems {
			if item == ItemAttachment || item == ItemNotary {
				ch.Contract.Documents = append(ch.Contract.Documents, itemDocument(c.ID, item))
			}
		}
		if d.cfg.ArchiveBundle {
			ch.Contract.Documents = append(ch.Contract.Documents, store.Document{
				ID: c.ID + store.BundleSuffix, ContractID: c.ID, Title: "signed bundle (contract and sign log)"})
		}
		if d.cfg.ArchiveOperationLog {
			// The operation log changes with every later state (a void, a
			// forced end): each committed change of a signed contract
			// fetches it again, even once archived. A redelivered or
			// refused change commits nothing, so fetches nothing.
			oplog := c.ID + store.OplogSuffix
			ch.Contract.Documents = append(ch.Contract.Documents, store.Document{
				ID: oplog, ContractID: c.ID, Title: "operation log"})
			ch.RefreshDocuments = []string{oplog}
		}
	}
	return ch
}

// Items of /v2/contract/download the dispatcher queues (Options.ArchiveItems).
const (
	ItemAttachment        = "ATTACHMENT"         // 附件
	ItemNotary            = "NOTARY"             // 存证报告
	ItemEndSignAttachment = "ENDSIGN_ATTACHMENT" // 强制结束附件
)

var itemTitles = map[string]string{ItemAttachment: "attachments (附件)", ItemNotary: "evidence report (存证报告)",
	ItemEndSignAttachment: "forced-end attachments (强制结束附件)"}

func itemDocument(contractID, item string) store.Document {
	return store.Document{ID: contractID + store.ItemInfix + item, ContractID: contractID, Title: itemTitles[item]}
}

func isDuplicate(err error) bool { return errors.Is(err, store.ErrDuplicate) }

// recordApplied counts and logs the outcome of one change.
func (d *Dispatcher) recordApplied(env *events.Envelope, c store.Contract, res store.Applied, err error) {
	switch {
	case isDuplicate(err):
		d.countApplied("duplicate")
	case err != nil:
	case res.Stale:
		d.countApplied("stale")
	case res.Changed:
		d.countApplied("changed")
		d.log.Info().Str("event_id", env.ID).Str("contract_id", env.ContractID).
			Str("status", c.Status).Bool("confirmed", c.Confirmed).Msg("contract updated")
	default:
		d.countApplied("unchanged")
	}
}

func eventRow(env *events.Envelope) store.Event {
	return store.Event{
		ID: env.ID, Tenant: env.Tenant, Kind: env.Kind, Type: env.Type, ContractID: env.ContractID,
		Source: env.Source, ReceivedAt: env.ReceivedAt.UTC(), AppliedAt: time.Now().UTC(), Payload: env.Payload,
	}
}

func contractFromEnvelope(env *events.Envelope) store.Contract {
	return store.Contract{
		Tenant: env.Tenant, ID: env.ContractID, Status: env.ContractStatus, Confirmed: false,
		UpdatedAt: time.Now().UTC(), Detail: env.Payload,
	}
}

// maxFactDetail bounds the detail embedded in a fact, well under NATS's
// default 1 MiB message limit: a larger detail is left out (subscribers
// read it from the ledger) rather than blocking the outbox.
const maxFactDetail = 256 << 10

// contractFacts builds the contract-status fact of a change, as data: the
// store completes it in its transaction with the status the contract came
// from (AfterPrevious). Its id is derived from the state reached (status
// and signatory progress) and that previous status, not from the event
// that caused it, so a replay or a crash-restart produces the same fact id
// and NATS drops the repeat.
func (d *Dispatcher) contractFacts(env *events.Envelope, cur *store.Contract) []store.Fact {
	f := events.Fact{
		Schema: events.SchemaLedgerV1, Tenant: cur.Tenant, Kind: events.FactContractStatus,
		ContractID: cur.ID, BizID: cur.BizID, Status: cur.Status, Confirmed: cur.Confirmed,
		Source: env.Source, CauseEventID: env.ID, OccurredAt: time.Now().UTC(),
	}
	if cur.Confirmed && len(cur.Detail) <= maxFactDetail {
		f.Detail = json.RawMessage(cur.Detail)
	}
	// The state-only id; the store makes it cover the status it came from
	// and the fact's number (store.FactIDAfter), so a state reached again
	// is a new fact.
	f.ID = factID("contract", cur.Tenant, cur.ID, cur.Status, confirm.ProgressKey(cur), boolKey(cur.Confirmed))
	fact := d.encodeFact(d.cfg.Names.LedgerContractSubject(cur.Tenant, cur.Status), f)
	fact.AfterPrevious = true
	return []store.Fact{fact}
}

func (d *Dispatcher) encodeFact(subject string, f events.Fact) store.Fact {
	payload, _ := json.Marshal(f) // only plain fields: cannot fail
	return store.Fact{ID: f.ID, Subject: subject, Tenant: f.Tenant, ContractID: f.ContractID, Payload: payload, CreatedAt: f.OccurredAt}
}

func boolKey(b bool) string {
	if b {
		return "confirmed"
	}
	return "unconfirmed"
}

func factID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "fact-" + hex.EncodeToString(h.Sum(nil)[:16])
}
