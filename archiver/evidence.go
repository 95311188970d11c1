package archiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/qyshook/qyshook/crosscheck"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// validationSuffix names a PDF's verification material in the document
// store's index: "<documentID>.validation.json" beside "<documentID>.pdf".
const validationSuffix = ".validation"

// itemOf returns the download item of an item document
// ("<contractID>.item.NOTARY" → "NOTARY"), "" for any other document.
func itemOf(d store.Document) string {
	item, ok := strings.CutPrefix(d.ID, d.ContractID+store.ItemInfix)
	if !ok {
		return ""
	}
	return item
}

// Refusal is what the archive keeps for an item the platform refused to
// serve (Options.ItemRefusalCodes): the item document is archived as this
// JSON record instead of a zip, so that "the platform said there is
// none" is itself kept, hashed and dated, and never asked again.
type Refusal struct {
	Refused    bool      `json:"refused"` // always true: tells the record from a file
	ContractID string    `json:"contract_id"`
	Item       string    `json:"item"`
	AnsweredAt time.Time `json:"answered_at"` // when the answer was read (this archiver's clock)
	Path       string    `json:"path"`        // the API path called
	HTTPStatus int       `json:"http_status"`
	Code       int       `json:"code"`
	Message    string    `json:"message"`
	// Answer is the platform's body exactly as sent (a JSON string when
	// it is not JSON).
	Answer json.RawMessage `json:"answer"`
}

// refusal turns err into the item's archived record when it is the
// platform refusing an item download (Options.ItemRefusalCodes).
func (a *Archiver) refusal(d store.Document, err error) (*qys.Download, bool) {
	var ae *qys.APIError
	if err == nil || itemOf(d) == "" || !errors.As(err, &ae) {
		return nil, false
	}
	if a.o.ItemRefusalCodes != nil {
		if !slices.Contains(a.o.ItemRefusalCodes, ae.Code) {
			return nil, false
		}
	} else if ae.Temporary() {
		return nil, false
	}
	answer := json.RawMessage(ae.Raw)
	if !json.Valid(answer) {
		answer, _ = json.Marshal(string(ae.Raw))
	}
	b, _ := json.MarshalIndent(Refusal{Refused: true, ContractID: d.ContractID, AnsweredAt: time.Now().UTC(), Item: itemOf(d), Path: ae.Path, HTTPStatus: ae.HTTPStatus,
		Code: ae.Code, Message: ae.Message, Answer: answer}, "", " ")
	a.log.Info().Str("contract_id", d.ContractID).Str("document_id", d.ID).Int("code", ae.Code).
		Msg("archiver: the platform refused an item; its answer is archived instead")
	return &qys.Download{Body: io.NopCloser(bytes.NewReader(b)), Size: int64(len(b))}, true
}

// collectValidation fetches the material a verified PDF's signatures rest
// on (pdfverify.Collect: chains, OCSP and CRL answers, or why there is
// none) and archives it beside the file, naming it in doc. Failing to
// collect or store it leaves doc without it (logged); the PDF is archived
// either way.
func (a *Archiver) collectValidation(ctx context.Context, tenant string, doc *store.Document) {
	opener, ok := a.o.Docs.(fileOpener)
	if a.o.SkipValidation || !ok || doc.VerifySignatures == 0 {
		return
	}
	f, err := opener.Open(doc.Path)
	if err != nil {
		a.log.Warn().Err(err).Str("document_id", doc.ID).Msg("archiver: validation material: reading the file back failed")
		return
	}
	defer f.Close()
	v, err := pdfverify.Collect(ctx, f, doc.Size, pdfverify.CollectOptions{Timeout: a.o.RevocationTimeout})
	if err != nil {
		a.log.Warn().Err(err).Str("document_id", doc.ID).Msg("archiver: collecting validation material failed")
		return
	}
	_, worst := v.Reshow()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return
	}
	rel, sum, _, err := a.o.Docs.Put(ctx, tenant, doc.ContractID, doc.ID+validationSuffix, "json", bytes.NewReader(b))
	if err != nil {
		a.log.Warn().Err(err).Str("document_id", doc.ID).Msg("archiver: storing validation material failed")
		return
	}
	doc.ValidationSHA256, doc.ValidationPath, doc.ValidationStatus = sum, rel, worst
	if worst != pdfverify.StatusGood {
		a.log.Info().Str("contract_id", doc.ContractID).Str("document_id", doc.ID).Str("revocation", worst).
			Msg("archived document's revocation status is not good")
	}
}

// contractReader is the part of a ledger that reads a contract back
// (store.Ledger has it); without it the archiver compares nothing.
type contractReader interface {
	Contract(ctx context.Context, tenant, id string) (*store.Contract, error)
}

// eventReader reads a contract's applied events (store.Ledger has it):
// the callbacks whose claims are compared too.
type eventReader interface {
	Events(ctx context.Context, tenant, contractID string) ([]store.Event, error)
}

// callbacksOf lists the contract's callbacks the ledger still holds
// (events older than the ledger's retention are gone, except the newest).
func (a *Archiver) callbacksOf(ctx context.Context, tenant, contractID string) []crosscheck.Callback {
	er, ok := a.o.Ledger.(eventReader)
	if !ok {
		return nil
	}
	evs, err := er.Events(ctx, tenant, contractID)
	if err != nil {
		a.log.Warn().Err(err).Str("contract_id", contractID).Msg("archiver: cross-check: reading the contract's events failed")
		return nil
	}
	var out []crosscheck.Callback
	for _, e := range evs {
		if e.Source == events.SourceCallback || e.Source == events.SourceIngest {
			out = append(out, crosscheck.Callback{EventID: e.ID, Type: e.Type, Payload: e.Payload})
		}
	}
	return out
}

// crossCheck compares an archived PDF's verification with its contract's
// API detail (crosscheck.Compare) and records the outcome in doc as JSON
// ("[]" when they agree). A contract that cannot be read, or whose detail
// was not confirmed through the API, is not compared (doc keeps "").
func (a *Archiver) crossCheck(ctx context.Context, tenant string, doc *store.Document, res *pdfverify.Result) []crosscheck.Discrepancy {
	cr, ok := a.o.Ledger.(contractReader)
	if a.o.SkipCrossCheck || !ok || res == nil {
		return nil
	}
	c, err := cr.Contract(ctx, tenant, doc.ContractID)
	if err != nil || c == nil || !c.Confirmed || len(c.Detail) == 0 {
		return nil
	}
	var detail qys.Contract
	if err := json.Unmarshal(c.Detail, &detail); err != nil {
		a.log.Warn().Err(err).Str("contract_id", doc.ContractID).Msg("archiver: cross-check: the ledger's detail does not decode")
		return nil
	}
	if detail.Status == "" {
		detail.Status = c.Status
	}
	found := crosscheck.Compare(&detail, []crosscheck.PDF{{DocumentID: doc.ID, Result: res}}, a.o.CrossCheck)
	found = append(found, crosscheck.CompareCallbacks(&detail, a.callbacksOf(ctx, tenant, doc.ContractID))...)
	if found == nil {
		found = []crosscheck.Discrepancy{}
	}
	b, _ := json.Marshal(found) // plain fields: cannot fail
	doc.Discrepancies = string(b)
	for _, x := range found {
		a.log.Warn().Str("contract_id", doc.ContractID).Str("document_id", doc.ID).Str("discrepancy", string(x.Kind)).
			Msg("archived document disagrees with its contract's detail")
	}
	return found
}

// discrepancyFacts are the facts of the discrepancies found in doc, one
// per kind and party, recorded with the document in one transaction.
func (a *Archiver) discrepancyFacts(tenant string, doc store.Document, found []crosscheck.Discrepancy, now time.Time) []store.Fact {
	var facts []store.Fact
	for _, x := range found {
		id := factID("discrepancy", tenant, doc.ID, doc.SHA256, string(x.Kind), x.Party)
		if x.Event != "" { // about a callback: one fact whichever PDF found it
			id = factID("discrepancy", tenant, doc.ContractID, string(x.Kind), x.Event)
		}
		f := events.Fact{
			Schema: events.SchemaLedgerV1, ID: id,
			Tenant: tenant, Kind: events.FactKindDiscrepancy, ContractID: doc.ContractID, Confirmed: true, OccurredAt: now,
			Discrepancy: &events.FactDiscrepancy{Kind: string(x.Kind), DocumentID: doc.ID, SHA256: doc.SHA256, EventID: x.Event},
		}
		payload, _ := json.Marshal(f)
		facts = append(facts, store.Fact{ID: f.ID, Subject: a.o.Names.LedgerDiscrepancySubject(tenant, string(x.Kind)),
			Tenant: tenant, ContractID: doc.ContractID, Payload: payload, CreatedAt: now})
	}
	return facts
}
