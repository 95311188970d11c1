package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/qyshook/qyshook/evidence"
)

const evidenceVerifyArgs = "FILE [--key VKEY|FILE]… [--tsa-roots PEM] [--roots PEM] [--json]"

// evidenceSubs are the subcommands of `qyshook evidence`. verify works
// offline on a bundle file. export (fetching a bundle through the admin
// API, in a file of its own) is added as one more entry here.
var evidenceSubs = []opsSub{
	{"verify", evidenceVerifyArgs, runEvidenceVerify},
	evidenceExportSub,
}

// ExitNotPinned is `qyshook evidence verify`'s exit code when every check
// holds but the log key, the TSA roots (for a stamped bundle) or the PDF
// roots (for PDFs) were not pinned: the bundle is consistent, but anyone
// can make such a bundle with a key of their own.
const ExitNotPinned = 3

// runEvidenceVerify is `qyshook evidence verify`: it needs no data dir, no
// database, no network and no QYSHOOK_* setting. Exit 0 when every check
// holds against pinned keys and roots, 1 on any problem, 2 when the file
// cannot be read or the flags are wrong, 3 (ExitNotPinned) when every
// check holds but something was not pinned.
func runEvidenceVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "evidence verify", evidenceVerifyArgs+"\n"+
		"  Checks an evidence bundle offline: every file's size and hashes against manifest.json, manifest.sig,\n"+
		"  the receipt-log checkpoint, each leaf's inclusion proof, each item's binding to its leaf, each RFC 3161\n"+
		"  time-stamp, each PDF's signatures and each kept OCSP/CRL answer. One line per check naming the file.\n"+
		"  Pin what you trust: without --key the bundle's own log/verifier.key is used, without --tsa-roots the\n"+
		"  root a token carries, without --roots the PDFs' signers are not checked for trust (each line says so).\n"+
		"  Exit 0: every check holds against what you pinned; 1: problems; 2: unreadable file or bad flags;\n"+
		"  3: consistent but something not pinned (\"NOT PINNED\": not shown to be from your log).")
	var keys listFlag
	fs.Var(&keys, "key", "the log's note verifier key (<origin>+<hash>+<key>), or a file of them (checkpoint.key.pub); repeatable")
	tsaRoots := fs.String("tsa-roots", "", "PEM file of the time-stamping authorities' roots")
	pdfRoots := fs.String("roots", "", "PEM file of the roots PDF signers must chain to (e.g. qystest-ca.pem)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return opsUsage(fs, "want exactly one bundle FILE")
	}
	o := evidence.VerifyOptions{}
	if o.VerifierKeys, err = verifierKeys(keys); err != nil {
		return usageErr("--key: %v", err)
	}
	if o.TSARoots, err = rootsFile(*tsaRoots); err != nil {
		return usageErr("--tsa-roots: %v", err)
	}
	if o.PDFRoots, err = rootsFile(*pdfRoots); err != nil {
		return usageErr("--roots: %v", err)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return usageErr("%v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return usageErr("%v", err)
	}
	if !st.Mode().IsRegular() {
		return usageErr("%s is not a regular file", pos[0])
	}
	res, err := evidence.Verify(ctx, f, st.Size(), o)
	if errors.Is(err, evidence.ErrNotBundle) {
		return usageErr("%s: %v", pos[0], err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		err = printJSON(env.Stdout, res)
	} else {
		err = printEvidenceLines(env, res)
	}
	if err != nil {
		return err
	}
	if res.Problems > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%s: %d of %d checks failed", pos[0], res.Problems, len(res.Lines))}
	}
	if len(res.Pinned.Missing) > 0 {
		return &ExitError{Code: ExitNotPinned, Err: fmt.Errorf("%s: consistent, but not pinned: %s", pos[0],
			strings.Join(res.Pinned.Missing, ", "))}
	}
	return nil
}

func printEvidenceLines(env *Env, res *evidence.Result) error {
	for _, l := range res.Lines {
		word := "ok     "
		switch {
		case !l.OK:
			word = "PROBLEM"
		case l.Discrepancy:
			word = "INVALID"
		}
		if _, err := fmt.Fprintf(env.Stdout, "%s %s: %s\n", word, l.Item, l.What); err != nil {
			return err
		}
	}
	m := res.Manifest
	var verdict string
	switch {
	case res.Problems > 0:
		verdict = fmt.Sprintf("%d PROBLEMS", res.Problems)
	case len(res.Pinned.Missing) > 0:
		verdict = "NOT PINNED: consistent, but not shown to be from your log (pin the " +
			strings.Join(res.Pinned.Missing, ", ") + ": --key, --tsa-roots, --roots)"
	default:
		verdict = "every check holds against the pinned key and roots"
	}
	if n := len(res.RecordedInvalid); n > 0 {
		verdict += fmt.Sprintf("; %d PDF does not verify (a recorded discrepancy: the bundle keeps a bad download)", n)
		if n > 1 {
			verdict = strings.Replace(verdict, "PDF does", "PDFs do", 1)
		}
	}
	_, err := fmt.Fprintf(env.Stdout, "\ncontract %s (tenant %s), bundle version %d, state %s: %d checks, %s\n",
		m.ContractID, m.Tenant, m.Version, m.State, len(res.Lines), verdict)
	return err
}

// verifierKeys reads --key values: a verifier key, or a file of them (one
// a line, as checkpoint.key.pub and QYSHOOK_LOG_VERIFIER_KEYS hold them).
func verifierKeys(vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		if _, err := note.NewVerifier(v); err == nil {
			out = append(out, v)
			continue
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a note verifier key nor a readable file", v)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if _, err := note.NewVerifier(line); err != nil {
				return nil, fmt.Errorf("%s: %q is not a note verifier key", v, line)
			}
			out = append(out, line)
		}
	}
	return out, nil
}

// rootsFile reads a PEM file of certificates ("" : nil, nothing pinned).
func rootsFile(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
