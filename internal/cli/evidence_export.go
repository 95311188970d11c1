package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qyshook/qyshook/internal/config"
)

const evidenceExportArgs = "--contract ID [--tenant default] [--version N] [-o FILE]"

// evidenceExportSub is `qyshook evidence export`.
var evidenceExportSub = opsSub{"export", evidenceExportArgs, runEvidenceExport}

// runEvidenceExport is `qyshook evidence export`: the contract's evidence
// bundle through the admin API (audited there). An operator token gets
// the zip, a viewer token the masked report (HTML). Without -o the file
// is evidence-<tenant>-<contract>-v<N>.zip (or .html) in the current
// directory; "-o -" writes to stdout.
func runEvidenceExport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "evidence export", evidenceExportArgs+"\n"+
		"  Downloads a contract's evidence bundle (证据包) through the admin API: the latest version, or --version.\n"+
		"  An operator token gets the zip (check it with `qyshook evidence verify FILE`); a viewer token gets only\n"+
		"  its report, with names and personal numbers masked. Each export is audited.")
	contract := fs.String("contract", "", "the contract id (required)")
	tenant := fs.String("tenant", config.DefaultTenant, "the contract's tenant")
	version := fs.Int("version", 0, "the bundle version (default: the latest)")
	out := fs.String("o", "", "write to FILE (\"-\": stdout; default: evidence-<tenant>-<contract>-v<N>.zip in the current directory)")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return opsUsage(fs, "unexpected argument %q (the contract is --contract ID)", pos[0])
	case *contract == "":
		return opsUsage(fs, "--contract is required")
	case *version < 0:
		return opsUsage(fs, "--version %d: want 1, 2, … (or none: the latest)", *version)
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err := c.Evidence(ctx, *tenant, *contract, *version, env.Stdout)
		return apiErr(c, err)
	}
	dir := "."
	if *out != "" {
		dir = filepath.Dir(*out)
	}
	tmp, err := os.CreateTemp(dir, ".evidence-*.tmp")
	if err != nil {
		return usageErr("-o: %v", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	got, err := c.Evidence(ctx, *tenant, *contract, *version, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return apiErr(c, err)
	}
	name := *out
	if name == "" {
		ext := ".zip"
		if got.Report() {
			ext = ".html"
		}
		name = fmt.Sprintf("evidence-%s-%s-v%d%s", safeFileElem(*tenant), safeFileElem(*contract), got.Version, ext)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	if got.Report() {
		fmt.Fprintf(env.Stdout, "wrote %s: the masked report of bundle v%d of contract %s (%d bytes; a viewer token gets no documents)\n",
			name, got.Version, *contract, got.Bytes)
		return nil
	}
	fmt.Fprintf(env.Stdout, "wrote %s: bundle v%d of contract %s, %d bytes, sha256 %s\ncheck it: qyshook evidence verify %s\n",
		name, got.Version, *contract, got.Bytes, got.SHA256, name)
	return nil
}

// safeFileElem keeps a file name element to letters, digits, '.', '-' and '_'.
func safeFileElem(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
