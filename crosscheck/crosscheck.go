// Package crosscheck compares what the sources say about one contract —
// the open API's detail (signatories, their status, the contract's end
// time), the signed PDFs' embedded signatures (count, signers, signing
// times, verdict) and the callbacks' claims (acting party, end) — and
// lists every disagreement as a Discrepancy. It
// decides nothing and stores nothing: the caller records and publishes
// what it returns. An ordinary contract yields none.
package crosscheck

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys"
)

// Kind names a discrepancy. Kinds are never renamed (they are stored and
// published).
type Kind string

// Kinds of discrepancy.
const (
	// MissingSignature: a signatory the API says signed has no signature
	// in a signed PDF (Options.SignerTypes decides whose must be there).
	MissingSignature Kind = "missing_signature"
	// UnknownSigner: a PDF carries a signature by someone who is not a
	// signatory of the contract.
	UnknownSigner Kind = "unknown_signer"
	// SignedAfterCompletion: a PDF signature's signing time (/M, the
	// signer's claim) is later than the contract's end time by more than
	// Options.Tolerance.
	SignedAfterCompletion Kind = "signed_after_completion"
	// DocumentInvalid: a PDF of a signed contract does not verify (a
	// changed or tampered download) or carries no signature although
	// the contract has a signatory of Options.SignerTypes.
	DocumentInvalid Kind = "document_invalid"
)

// Discrepancy is one disagreement between sources.
type Discrepancy struct {
	Kind Kind `json:"kind"`
	// Document is the document concerned ("" for the contract).
	Document string `json:"document,omitempty"`
	// Party is the signatory or signer concerned ("" when none).
	Party string `json:"party,omitempty"`
	// Event is the ledger event id of the callback concerned ("" when none).
	Event string `json:"event,omitempty"`
	// Detail says what each source says.
	Detail string `json:"detail"`
}

// PDF is the verification of one archived PDF of the contract.
type PDF struct {
	DocumentID string
	Result     *pdfverify.Result
}

// Options tune Compare.
type Options struct {
	// SignerTypes are the signatory tenant types whose signature each
	// signed PDF must carry (default COMPANY: the public cloud seals per
	// company; whether a person's signature is a separate PDF signature
	// is not documented).
	SignerTypes []string
	// Tolerance is how much later than the contract's end time a signing
	// time may be (clock skew, rounding; default 1 min).
	Tolerance time.Duration
}

// Compare lists the discrepancies between the contract's detail and its
// PDFs. Only a signed contract's PDFs (lifecycle.Signed) are compared;
// a nil detail compares nothing.
func Compare(detail *qys.Contract, pdfs []PDF, o Options) []Discrepancy {
	if detail == nil || !lifecycle.Signed(detail.Status) {
		return nil
	}
	if len(o.SignerTypes) == 0 {
		o.SignerTypes = []string{"COMPANY"}
	}
	if o.Tolerance <= 0 {
		o.Tolerance = time.Minute
	}
	parties := map[string]bool{}
	var mustSign []string
	signers := 0 // signatories of SignerTypes, done or not
	for _, sg := range detail.Signatories {
		parties[sg.TenantName] = true
		if slices.Contains(o.SignerTypes, strings.ToUpper(sg.TenantType)) {
			signers++
			if lifecycle.SignatoryDone(sg.Status) {
				mustSign = append(mustSign, sg.TenantName)
			}
		}
	}
	end, hasEnd := EndTime(detail)
	var out []Discrepancy
	for _, p := range pdfs {
		if p.Result == nil {
			continue
		}
		if p.Result.Verdict == pdfverify.NoSignatures && signers == 0 {
			// No signatory whose signature a PDF must carry (SignerTypes):
			// an unsigned PDF is what the platform is assumed to serve then.
			continue
		}
		if p.Result.Verdict != pdfverify.Valid {
			out = append(out, Discrepancy{Kind: DocumentInvalid, Document: p.DocumentID,
				Detail: fmt.Sprintf("the API says %s; the PDF verifies %s: %s", detail.Status, p.Result.Verdict, p.Result.Problem)})
		}
		signers := map[string]bool{}
		for _, s := range p.Result.Signatures {
			signers[s.Signer] = true
			if !parties[s.Signer] {
				out = append(out, Discrepancy{Kind: UnknownSigner, Document: p.DocumentID, Party: s.Signer,
					Detail: "the PDF carries a signature by " + s.Signer + ", who is not a signatory in the API's detail"})
			}
			if hasEnd && !s.SigningTime.IsZero() && s.SigningTime.Sub(end) > o.Tolerance {
				out = append(out, Discrepancy{Kind: SignedAfterCompletion, Document: p.DocumentID, Party: s.Signer,
					Detail: fmt.Sprintf("signed at %s (the PDF's claim), after the contract's end time %s (the API's)",
						s.SigningTime.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))})
			}
		}
		if len(p.Result.Signatures) == 0 {
			continue // no signature at all is DocumentInvalid's (no-signatures) already
		}
		for _, name := range mustSign {
			if !signers[name] {
				out = append(out, Discrepancy{Kind: MissingSignature, Document: p.DocumentID, Party: name,
					Detail: "the API says " + name + " signed; the PDF has no signature by it"})
			}
		}
	}
	return out
}

// EndTime reads the detail's endTime (yyyy-MM-dd HH:mm:ss, UTC+8).
func EndTime(detail *qys.Contract) (time.Time, bool) {
	if detail.EndTime == "" {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", detail.EndTime, chinaTime)
	return t, err == nil
}

var chinaTime = time.FixedZone("CST", 8*60*60)
