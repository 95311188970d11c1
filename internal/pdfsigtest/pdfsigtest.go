// Package pdfsigtest runs poppler's pdfsig against PDFs with a given CA
// trusted, so tests can have an outside validator check the fake's
// signatures. Tests that use it skip only when pdfsig (Debian package
// poppler-utils) or certutil (libnss3-tools) is not installed.
package pdfsigtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Signature is what pdfsig reported for one signature.
type Signature struct {
	Signer      string // "Signer Certificate Common Name"
	SigningTime string
	Validation  string // "Signature Validation", e.g. "Signature is Valid."
	Certificate string // "Certificate Validation", e.g. "Certificate is Trusted."
	WholeFile   bool   // "Total document signed"
}

// Valid reports whether pdfsig found the signature valid and its
// certificate trusted.
func (s Signature) Valid() bool {
	return s.Validation == "Signature is Valid." && s.Certificate == "Certificate is Trusted."
}

// Trust makes an NSS database in a temporary dir trusting the PEM CA at
// caPath for e-mail/document signing, and returns its -nssdir argument.
// It skips tb when certutil or pdfsig is absent.
func Trust(tb testing.TB, caPath string) string {
	tb.Helper()
	for _, tool := range []string{"pdfsig", "certutil"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s not installed (apt-get install poppler-utils libnss3-tools)", tool)
		}
	}
	dir := tb.TempDir()
	db := "sql:" + dir
	run(tb, "certutil", "-N", "-d", db, "--empty-password")
	run(tb, "certutil", "-A", "-d", db, "-n", "qystest-ca", "-t", "CT,C,C", "-i", caPath)
	return db
}

// Check runs pdfsig on pdfPath against the NSS database nssdir (Trust)
// and returns the signatures it reported, with its whole output. pdfsig
// asks the signer certificate's OCSP service unless flags has
// "-no-ocsp"; an OCSP service that does not answer makes NSS report
// "Unknown issue with Certificate".
func Check(tb testing.TB, nssdir, pdfPath string, flags ...string) ([]Signature, string) {
	tb.Helper()
	cmd := exec.Command("pdfsig", append(append([]string{"-nssdir", nssdir}, flags...), pdfPath)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	// pdfsig exits non-zero for unsigned files and for some invalid
	// signatures; the report is what counts.
	if err != nil && !strings.Contains(string(out), "Signature #") {
		tb.Fatalf("pdfsig %s: %v\n%s", filepath.Base(pdfPath), err, out)
	}
	return parse(string(out)), string(out)
}

var field = regexp.MustCompile(`^\s*- ([^:]+): (.*)$`)

func parse(out string) []Signature {
	var sigs []Signature
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "Signature #") {
			sigs = append(sigs, Signature{})
			continue
		}
		if len(sigs) == 0 {
			continue
		}
		s := &sigs[len(sigs)-1]
		if strings.TrimSpace(line) == "- Total document signed" {
			s.WholeFile = true
			continue
		}
		m := field.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch m[1] {
		case "Signer Certificate Common Name":
			s.Signer = m[2]
		case "Signing Time":
			s.SigningTime = m[2]
		case "Signature Validation":
			s.Validation = m[2]
		case "Certificate Validation":
			s.Certificate = m[2]
		}
	}
	return sigs
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// String formats a signature for failure messages.
func (s Signature) String() string {
	return fmt.Sprintf("%s at %s: %s / %s (whole file %v)", s.Signer, s.SigningTime, s.Validation, s.Certificate, s.WholeFile)
}
