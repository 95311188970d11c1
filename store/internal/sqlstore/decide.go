package sqlstore

import (
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// outcome is what a contract change does to the ledger.
type outcome int

const (
	// changed: the change moves the row forward (store.Advances), or the
	// contract is new: the row, its children and the facts are written.
	changed outcome = iota
	// stale: refused only because the fetches overlapped (store.Stale):
	// the event is forgotten too, so its redelivery is fetched anew.
	stale
	// refetched: the same state seen by a later fetch
	// (store.Reconfirms): only the row's fetch times move.
	refetched
	// unchanged: nothing is written but the event.
	unchanged
)

// decision is the one commit rule for one contract change, made in one
// place for both paths of ApplyContracts: applyContract (one change at a
// time) and applyBatch (set-based) differ only in how they read and write
// what it says.
type decision struct {
	outcome outcome
	// row is the contract after the change: the merged row (changed),
	// old with the later fetch times (refetched), or old.
	row store.Contract
	// previous is old's status ("" for a new contract): the facts'
	// previous_status.
	previous string
	// replaceSigs: the signatories are replaced with sigs (changed, and
	// the change lists them or the contract is new).
	replaceSigs bool
	sigs        []store.Signatory
	// docs is the document metadata to upsert (changed; last one of an
	// id wins).
	docs []store.Document
	// queueDocs: the contract's documents go (back) into the archive
	// queue.
	queueDocs bool
	// refresh lists documents to queue again even when archived (the
	// change's RefreshDocuments: an operation log after a later state).
	refresh []string
	// facts are written with the change (changed only).
	facts []store.Fact
	// traceparent is the change's trace context, kept by the documents
	// it queues.
	traceparent string
}

// decide applies the commit rule to one change: next (the change's
// contract, tenant and id filled in) against old, the contract as this
// transaction holds it (nil: not in the ledger).
func decide(old *store.Contract, ch store.ContractChange, next store.Contract, now time.Time) decision {
	if old != nil && !store.Advances(old, &next) {
		switch {
		case store.Stale(old, &next):
			return decision{outcome: stale, row: *old, previous: old.Status}
		case store.Reconfirms(old, &next):
			ov := old.View()
			began, ended := lifecycle.Refetched(&ov, next.View())
			cur := *old
			cur.FetchedAt, cur.FetchEndedAt = began, ended
			return decision{outcome: refetched, row: cur, previous: old.Status}
		default:
			return decision{outcome: unchanged, row: *old, previous: old.Status}
		}
	}
	d := decision{outcome: changed, row: merge(old, next, now), queueDocs: ch.ArchiveDocuments,
		refresh: ch.RefreshDocuments, facts: ch.Facts, traceparent: ch.Traceparent}
	if old != nil {
		d.previous = old.Status
	}
	if len(next.Signatories) > 0 || old == nil {
		d.replaceSigs = true
		d.sigs = lastByID(next.Signatories, func(sg store.Signatory) string { return sg.ID })
	}
	d.docs = lastByID(next.Documents, func(doc store.Document) string { return doc.ID })
	return d
}
