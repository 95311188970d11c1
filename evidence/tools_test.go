package evidence_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/pdfsigtest"
)

// extract writes a bundle's files under a new directory.
func extract(t *testing.T, z []byte) (string, map[string][]byte) {
	t.Helper()
	_, files := unzip(t, z)
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// TestBundleChecksByHand: the checks docs/evidence.md describes by hand,
// with outside tools on the extracted bundle: sha256sum -c over the
// manifest's hashes, openssl ts -verify of the stamp over
// log/checkpoint.txt, and pdfsig on the PDF with the fake's CA trusted.
// Each tool skips only when absent.
func TestBundleChecksByHand(t *testing.T) {
	f := newFixture(t)
	dir, files := extract(t, mustWrite(t, f))
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.PathManifest], &m); err != nil {
		t.Fatal(err)
	}
	t.Run("sha256sum", func(t *testing.T) {
		if _, err := exec.LookPath("sha256sum"); err != nil {
			t.Skip("sha256sum not installed")
		}
		var list strings.Builder
		for _, file := range m.Files {
			list.WriteString(file.SHA256 + "  " + file.Path + "\n")
		}
		cmd := exec.Command("sha256sum", "--strict", "-c", "-")
		cmd.Dir, cmd.Stdin = dir, strings.NewReader(list.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, out)
		}
		sig := string(files[evidence.PathManifestSig])
		if !strings.HasPrefix(sig, evidence.Format+"\n"+sha256Of(t, dir, evidence.PathManifest)+"\n") {
			t.Fatalf("manifest.sig does not start with the format and manifest.json's sha256sum:\n%s", sig)
		}
	})
	t.Run("openssl ts", func(t *testing.T) {
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Skip("openssl not installed")
		}
		root := filepath.Join(t.TempDir(), "tsa-root.pem")
		os.WriteFile(root, f.TSARootPEM, 0o600)
		s := m.Stamps[0]
		cmd := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", s.Token, "-data", evidence.PathCheckpoint,
			"-CAfile", root, "-untrusted", s.Certs)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Verification: OK") {
			t.Fatalf("openssl ts -verify: %v\n%s", err, out)
		}
		cmd = exec.Command("openssl", "ts", "-verify", "-token_in", "-in", s.Token, "-data", evidence.PathLeaves,
			"-CAfile", root, "-untrusted", s.Certs)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err == nil && strings.Contains(string(out), "Verification: OK") {
			t.Fatalf("openssl verified the stamp over another file:\n%s", out)
		}
	})
	t.Run("pdfsig", func(t *testing.T) {
		ca := filepath.Join(t.TempDir(), "qystest-ca.pem")
		os.WriteFile(ca, f.CAPEM, 0o600)
		nss := pdfsigtest.Trust(t, ca)
		sigs, out := pdfsigtest.Check(t, nss, filepath.Join(dir, filepath.FromSlash(f.c.Summary.PDFs[0].Path)), "-no-ocsp")
		if len(sigs) != 2 {
			t.Fatalf("pdfsig found %d signatures, want 2:\n%s", len(sigs), out)
		}
		for _, s := range sigs {
			if !s.Valid() {
				t.Errorf("pdfsig: %s\n%s", s, out)
			}
		}
	})
}

func sha256Of(t *testing.T, dir, name string) string {
	t.Helper()
	out, err := exec.Command("sha256sum", filepath.Join(dir, name)).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}
