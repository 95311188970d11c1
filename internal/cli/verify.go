package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/store"
)

const verifyUsage = "(--contract ID [--tenant T] | --all) [--online] [--require-signed] [--max-size BYTES] [--json] | --log [--json]"

// Signature states of a verified document (verifyRow.Signatures).
const (
	sigValid    = "valid"
	sigInvalid  = "invalid"
	sigUnsigned = "unsigned"
	sigNotPDF   = "not-pdf"
	sigSkipped  = "skipped"
	sigNone     = "-"
)

// verifyRow is one archived document in `verify --json`.
type verifyRow struct {
	Tenant     string `json:"tenant"`
	ContractID string `json:"contract_id"`
	DocumentID string `json:"document_id"`
	Path       string `json:"path"`
	// Exists: the file is there and readable.
	Exists bool `json:"exists"`
	// Size is the ledger's; ActualSize the file's (-1 when missing).
	Size       int64  `json:"size"`
	ActualSize int64  `json:"actual_size"`
	SizeOK     bool   `json:"size_ok"`
	SHA256     string `json:"sha256"`
	SHA256OK   bool   `json:"sha256_ok"`
	// Signatures: valid, invalid, unsigned, not-pdf, skipped or "-".
	Signatures string                `json:"signatures"`
	Signers    []pdfverify.Signature `json:"signers,omitempty"`
	Online     *pdfverify.Online     `json:"online,omitempty"`
	Problems   []string              `json:"problems,omitempty"`
	OK         bool                  `json:"ok"`
}

type verifyOpts struct {
	online        bool
	requireSigned bool
	maxSize       int64
}

func runVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "verify", verifyUsage)
	contract := fs.String("contract", "", "verify this contract's archived documents")
	tenant := fs.String("tenant", "", "the contract's tenant (with --contract; default: every tenant that has it)")
	all := fs.Bool("all", false, "verify every archived document of every contract")
	online := fs.Bool("online", false, "also ask 契约锁 (POST /v2/verify) with the tenant's API credentials")
	requireSigned := fs.Bool("require-signed", false, "count a PDF without signatures as a mismatch")
	maxSize := fs.Int64("max-size", pdfverify.DefaultMaxSize, "files larger than this are hashed but their signatures not read")
	asJSON := fs.Bool("json", false, "print JSON")
	logMode := fs.Bool("log", false, "check the receipt log: rebuild the tree, recompute every row's leaf and archived file (JSON lines with --json)")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	if *logMode {
		if *contract != "" || *all || *tenant != "" || *online || *requireSigned {
			return opsUsage(fs, "%v", errLogFlags)
		}
		return runVerifyLog(ctx, env, *asJSON)
	}
	if (*contract == "") == !*all {
		return opsUsage(fs, "want exactly one of --contract ID or --all")
	}
	if *tenant != "" && *contract == "" {
		return opsUsage(fs, "--tenant goes with --contract")
	}
	if *maxSize <= 0 {
		return opsUsage(fs, "--max-size must be positive")
	}
	svc, err := openOps(ctx, env, app.Parts{Ledger: true, ReadOnlyLedger: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	contracts, err := verifyTargets(ctx, svc.Ledger, *contract, *tenant)
	if err != nil {
		return err
	}
	o := verifyOpts{online: *online, requireSigned: *requireSigned, maxSize: *maxSize}
	rows := []verifyRow{}
	for _, c := range contracts {
		full, err := svc.Ledger.Contract(ctx, c.Tenant, c.ID)
		if err != nil {
			return fmt.Errorf("contract %s: %w", c.ID, err)
		}
		for _, d := range full.Documents {
			if d.Path == "" || d.SHA256 == "" {
				continue // not archived
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rows = append(rows, verifyDocument(ctx, svc, c.Tenant, d, o))
		}
	}
	failed := 0
	for _, r := range rows {
		if !r.OK {
			failed++
		}
	}
	if *asJSON {
		err = printJSON(env.Stdout, rows)
	} else {
		t := newTable(env.Stdout, "TENANT", "CONTRACT", "DOCUMENT", "FILE", "SIZE", "SHA256", "SIGNATURES", "RESULT")
		for _, r := range rows {
			res := "ok"
			if !r.OK {
				res = "MISMATCH: " + strings.Join(r.Problems, "; ")
			}
			t.row(r.Tenant, r.ContractID, r.DocumentID, okMissing(r.Exists), okBad(r.SizeOK, r.Exists),
				okBad(r.SHA256OK, r.Exists), r.Signatures, res)
		}
		err = t.flush()
		fmt.Fprintf(env.Stdout, "\n%d archived documents checked, %d mismatched\n", len(rows), failed)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d archived documents do not match the ledger or their signatures", failed, len(rows))
	}
	return nil
}

// verifyTargets lists the contracts to check: one (in one tenant, or in
// every tenant that has that id) or all of them.
func verifyTargets(ctx context.Context, l store.Ledger, id, tenant string) ([]store.Contract, error) {
	if id != "" && tenant != "" {
		c, err := l.Contract(ctx, tenant, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("no contract %s in tenant %q", id, tenant)
		}
		if err != nil {
			return nil, fmt.Errorf("contract %s: %w", id, err)
		}
		return []store.Contract{*c}, nil
	}
	var out []store.Contract
	f := store.ContractFilter{OldestFirst: true, Limit: 500}
	for {
		page, err := l.Contracts(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list contracts: %w", err)
		}
		for _, c := range page {
			if id == "" || c.ID == id {
				out = append(out, c)
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.After = store.CursorOf(page[len(page)-1])
	}
	if id != "" && len(out) == 0 {
		return nil, notFound("no contract %s in the ledger", id)
	}
	return out, nil
}

func verifyDocument(ctx context.Context, svc *app.Services, tenant string, d store.Document, o verifyOpts) verifyRow {
	r := verifyRow{Tenant: tenant, ContractID: d.ContractID, DocumentID: d.ID, Path: d.Path, Size: d.Size,
		ActualSize: -1, SHA256: d.SHA256, Signatures: sigNone}
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	f, err := svc.Docs.Open(d.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			problem("file missing")
		} else {
			problem("cannot open: %v", err)
		}
		return r
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		problem("cannot stat: %v", err)
		return r
	}
	r.Exists, r.ActualSize = true, st.Size()
	r.SizeOK = st.Size() == d.Size
	if !r.SizeOK {
		problem("size %d, ledger says %d", st.Size(), d.Size)
	}
	h := sha256.New()
	head := make([]byte, 5)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	h.Write(head)
	if _, err := io.Copy(h, f); err != nil {
		problem("read: %v", err)
		return r
	}
	r.SHA256OK = hex.EncodeToString(h.Sum(nil)) == d.SHA256
	if !r.SHA256OK {
		problem("sha256 differs from the ledger")
	}
	switch {
	case string(head) != "%PDF-":
		r.Signatures = sigNotPDF
	case st.Size() > o.maxSize:
		r.Signatures = sigSkipped
	default:
		r.Signatures = verifySignatures(ctx, svc, tenant, f, st, o, &r)
	}
	r.OK = len(r.Problems) == 0
	return r
}

func verifySignatures(ctx context.Context, svc *app.Services, tenant string, f *os.File, st os.FileInfo, o verifyOpts, r *verifyRow) string {
	opts := pdfverify.Options{MaxSize: o.maxSize, Name: st.Name()}
	if o.online {
		v, ok := svc.APIs[tenant].(pdfverify.OnlineVerifier)
		if !ok {
			r.Problems = append(r.Problems, "no API client for the online check")
		} else {
			opts.Online = v
		}
	}
	res, err := pdfverify.Verify(ctx, f, st.Size(), opts)
	if res == nil {
		r.Problems = append(r.Problems, fmt.Sprintf("signatures: %v", err))
		return sigInvalid
	}
	r.Signers, r.Online = res.Signatures, res.Online
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("online check: %v", err))
	}
	switch res.Verdict {
	case pdfverify.Valid:
		return sigValid
	case pdfverify.NoSignatures:
		if o.requireSigned {
			r.Problems = append(r.Problems, "no signatures")
		}
		return sigUnsigned
	default:
		msg := res.Problem
		for _, s := range res.Signatures {
			if msg == "" && s.Problem != "" {
				msg = s.Signer + ": " + s.Problem
			}
		}
		r.Problems = append(r.Problems, "signatures invalid: "+msg)
		return sigInvalid
	}
}

func okMissing(exists bool) string {
	if exists {
		return "ok"
	}
	return "MISSING"
}

func okBad(ok, exists bool) string {
	switch {
	case !exists:
		return "-"
	case ok:
		return "ok"
	}
	return "BAD"
}
