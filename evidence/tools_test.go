package evidence_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
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
	z := mustWrite(t, f)
	dir, files := extract(t, z)
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
	t.Run("as documented", func(t *testing.T) {
		for _, tool := range []string{"bash", "jq", "unzip", "sha256sum", "openssl"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s not installed", tool)
			}
		}
		work := t.TempDir()
		os.WriteFile(filepath.Join(work, "bundle.zip"), z, 0o600)
		// The lines of docs/evidence.md, "Checking a bundle".
		script := `set -euo pipefail
unzip -q -d b bundle.zip && cd b
jq -r '.files[] | "\(.sha256)  \(.path)"' manifest.json | sha256sum --strict -c - >/dev/null
test "$(sha256sum manifest.json | cut -d' ' -f1)" = "$(sed -n 2p manifest.sig)"
if openssl dgst -sm3 /dev/null >/dev/null 2>&1; then
  jq -r '.files[]|[.sm3,.path]|@tsv' manifest.json | while IFS=$'\t' read -r h p; do
    test "$(openssl dgst -sm3 -r "$p" | cut -d' ' -f1)" = "$h" || echo "SM3 MISMATCH $p"; done | (! grep .)
fi`
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	t.Run("inclusion script", func(t *testing.T) {
		if _, err := exec.LookPath("python3"); err != nil {
			t.Skip("python3 not installed")
		}
		script := docsScript(t)
		run := func(dir string) string {
			cmd := exec.Command("python3", "-c", script)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the documented inclusion script: %v\n%s", err, out)
			}
			return string(out)
		}
		out := run(dir)
		if strings.Count(out, " OK\n") != len(f.c.Leaves) || strings.Contains(out, "FAIL") {
			t.Fatalf("the documented inclusion script:\n%s", out)
		}
		// The same script on an edited leaf fails it.
		lj := bytes.Replace(files[evidence.PathLeaves], []byte(`\"kind\":\"event\"`), []byte(`\"kind\":\"fact\"`), 1)
		other, _ := extract(t, z)
		os.WriteFile(filepath.Join(other, "log", "leaves.json"), lj, 0o600)
		if out := run(other); strings.Count(out, "FAIL") != 1 {
			t.Fatalf("an edited leaf:\n%s", out)
		}
	})
	t.Run("openssl pkeyutl", func(t *testing.T) {
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Skip("openssl not installed")
		}
		for _, name := range []string{evidence.PathManifestSig, evidence.PathCheckpoint} {
			if err := opensslNote(t, f.VerifierKey, files[name]); err != nil {
				t.Errorf("%s: %v", name, err)
			}
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

// opensslNote checks a note's Ed25519 signature with openssl pkeyutl, as
// docs/evidence.md "Checking a checkpoint" says: the text up to the blank
// line, the 64 bytes after the 4-byte key hash, the key after its
// algorithm byte.
func opensslNote(t *testing.T, vkey string, msg []byte) error {
	t.Helper()
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		return errors.New("not a note")
	}
	text, sigLine := msg[:i+1], strings.TrimSpace(string(msg[i+2:]))
	fields := strings.Fields(sigLine) // "—", name, base64
	raw, err := base64.StdEncoding.DecodeString(fields[len(fields)-1])
	if err != nil || len(raw) != 4+ed25519.SignatureSize {
		return fmt.Errorf("signature line %q", sigLine)
	}
	parts := strings.SplitN(vkey, "+", 3)
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 1+ed25519.PublicKeySize {
		return fmt.Errorf("verifier key %q", vkey)
	}
	spki, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(key[1:]))
	if err != nil {
		return err
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	pub := write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
	out, err := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
		"-in", write("text", text), "-sigfile", write("sig", raw[4:])).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Signature Verified Successfully")) {
		return fmt.Errorf("openssl pkeyutl: %v: %s", err, out)
	}
	return nil
}

// docsScript is the python block of docs/evidence.md's bundle section.
func docsScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "evidence.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## The evidence bundle")
	if !ok {
		t.Fatal("docs/evidence.md has no bundle section")
	}
	_, rest, ok = strings.Cut(rest, "```python\n")
	script, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/evidence.md's bundle section has no python block")
	}
	return script
}
