package archiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// maxProblem bounds the problem text kept with a document.
const maxProblem = 1000

// verify checks the embedded signatures of an archived PDF (package
// pdfverify) and records the outcome in doc: the verdict, the signatures
// found, when, and the problem. Through /v2/verify too when the tenant
// enables it (VerifyOnline). A verification that cannot run (the file
// cannot be read back) leaves the verdict empty with the reason as the
// problem: the file is archived either way, `qyshook verify` can check it
// again later.
func (a *Archiver) verify(ctx context.Context, tenant string, doc *store.Document) *pdfverify.Result {
	opener, ok := a.o.Docs.(fileOpener)
	if !ok {
		return nil
	}
	now := time.Now().UTC()
	doc.VerifiedAt = &now
	f, err := opener.Open(doc.Path)
	if err != nil {
		doc.VerifyProblem = clip("cannot read the archived file back: " + err.Error())
		return nil
	}
	defer f.Close()
	opts := pdfverify.Options{Name: doc.ID + ".pdf"}
	if a.o.VerifyOnline[tenant] {
		if v, ok := a.o.APIs[tenant].(pdfverify.OnlineVerifier); ok {
			opts.Online = v
		}
	}
	res, err := pdfverify.Verify(ctx, f, doc.Size, opts)
	if res == nil {
		doc.VerifyProblem = clip("verification failed: " + err.Error())
		return nil
	}
	doc.VerifyVerdict, doc.VerifySignatures = string(res.Verdict), len(res.Signatures)
	var problems []string
	if res.Problem != "" {
		problems = append(problems, res.Problem)
	}
	for i, s := range res.Signatures {
		if s.Problem != "" {
			problems = append(problems, fmt.Sprintf("signature %d: %s", i+1, s.Problem))
		}
	}
	if errors.Is(err, pdfverify.ErrOnline) {
		problems = append(problems, "online check failed: "+err.Error())
	}
	doc.VerifyProblem = clip(strings.Join(problems, "; "))
	a.metrics.verified.WithLabelValues(string(res.Verdict)).Inc()
	switch res.Verdict {
	case pdfverify.Valid:
	case pdfverify.NoSignatures:
		a.log.Info().Str("contract_id", doc.ContractID).Str("document_id", doc.ID).Msg("archived document has no signatures")
	default:
		a.log.Warn().Str("contract_id", doc.ContractID).Str("document_id", doc.ID).Str("verdict", string(res.Verdict)).
			Str("problem", doc.VerifyProblem).Msg("archived document does not verify")
	}
	return res
}

func clip(s string) string {
	if len(s) <= maxProblem {
		return s
	}
	return s[:maxProblem] + "…"
}

// operationLog fetches a contract's operation log as a download of its
// `result` JSON.
func operationLog(ctx context.Context, api API, contractID string) (*qys.Download, error) {
	s, ok := api.(StreamAPI)
	if !ok {
		return nil, fmt.Errorf("operation log: %w", errNoAPI)
	}
	log, err := s.OperationLog(ctx, qys.StreamQuery{ContractID: contractID})
	if err != nil {
		return nil, err
	}
	return &qys.Download{Body: io.NopCloser(bytes.NewReader(log.Raw)), Size: int64(len(log.Raw))}, nil
}
