package archiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// validationSuffix names a PDF's verification material in the document
// store's index: "<documentID>.validation.json" beside "<documentID>.pdf".
const validationSuffix = ".validation"

// maxRefusal bounds the platform's raw answer kept as a refusal's reason.
const maxRefusal = 4000

// itemOf returns the download item of an item document
// ("<contractID>.item.NOTARY" → "NOTARY"), "" for any other document.
func itemOf(d store.Document) string {
	item, ok := strings.CutPrefix(d.ID, d.ContractID+store.ItemInfix)
	if !ok {
		return ""
	}
	return item
}

// refused reports whether err is the platform refusing an item download
// (Options.ItemRefusalCodes), and the reason to record: the code and the
// platform's answer exactly as sent.
func (a *Archiver) refused(d store.Document, err error) (string, bool) {
	var ae *qys.APIError
	if itemOf(d) == "" || !errors.As(err, &ae) {
		return "", false
	}
	if a.o.ItemRefusalCodes != nil {
		if !slices.Contains(a.o.ItemRefusalCodes, ae.Code) {
			return "", false
		}
	} else if ae.Temporary() {
		return "", false
	}
	raw := string(ae.Raw)
	if len(raw) > maxRefusal {
		raw = raw[:maxRefusal] + "…"
	}
	return fmt.Sprintf("refused by the platform: %s %s: code %d (http %d); answer: %s",
		itemOf(d), ae.Path, ae.Code, ae.HTTPStatus, raw), true
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
