package cli

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/evidence/evidencetest"
)

// flipFile rewrites a zip with one byte of one file changed (the
// container stays sound).
func flipFile(t *testing.T, z []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == name {
			b[len(b)/2] ^= 0x20
			found = true
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	zw.Close()
	if !found {
		t.Fatalf("no %s in the bundle", name)
	}
	return out.Bytes()
}

// TestEvidenceVerifyOffline runs the built binary on a bundle in an empty
// directory with an empty environment (no QYSHOOK_*, no HOME, no PATH):
// exit 0 with the keys and roots pinned, 3 ("NOT PINNED") when one is not,
// even for a bundle forged with a key of its own; a flipped callback exits 1 naming
// it; a file that is not a bundle, or no file, exits 2. The directory is
// left as it was: no data dir, no database.
func TestEvidenceVerifyOffline(t *testing.T) {
	bin := QyshookBinary(t)
	f := evidencetest.New(t)
	z := f.Write(t)
	in := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bundle := write("bundle.zip", z)
	flipped := write("flipped.zip", flipFile(t, z, "callbacks/E1.json"))
	notZip := write("not.zip", []byte("not a zip"))
	keyFile := write("checkpoint.key.pub", []byte(f.VerifierKey+"\n"))
	tsaRoot := write("tsa-root.pem", f.TSARootPEM)
	ca := write("qystest-ca.pem", f.CAPEM)
	work := t.TempDir()
	run := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"evidence", "verify"}, args...)...)
		cmd.Dir, cmd.Env = work, []string{}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	pins := []string{"--key", keyFile, "--tsa-roots", tsaRoot, "--roots", ca}
	if code, out := run(append([]string{bundle}, pins...)...); code != 0 || !strings.Contains(out, "every check holds") ||
		strings.Contains(out, "not pinned") {
		t.Fatalf("pinned: exit %d\n%s", code, out)
	}
	if code, out := run(bundle, "--key", f.VerifierKey); code != 3 || !strings.Contains(out, "TSA root not pinned") ||
		!strings.Contains(out, "NOT PINNED: consistent, but not shown to be from your log") || strings.Contains(out, "every check holds") {
		t.Fatalf("key as a flag, roots not pinned: exit %d, want 3\n%s", code, out)
	}
	// A bundle forged from scratch with a key of its own is consistent, never "every check holds".
	forged := write("forged.zip", evidencetest.New(t).Write(t))
	if code, out := run(forged); code != 3 || !strings.Contains(out, "NOT PINNED") {
		t.Fatalf("forged, unpinned: exit %d, want 3\n%s", code, out)
	}
	if code, out := run(forged, "--json"); code != 3 || !strings.Contains(out, `"pinned": {`) || !strings.Contains(out, `"log key"`) {
		t.Fatalf("forged, unpinned, --json: exit %d, want 3\n%s", code, out)
	}
	if code, out := run(append([]string{forged}, pins...)...); code != 1 {
		t.Fatalf("forged, pinned: exit %d, want 1\n%s", code, out)
	}
	tampered := evidencetest.NewWith(t, evidencetest.Options{TamperedPDF: true})
	recorded := write("recorded.zip", tampered.Write(t))
	tpins := []string{"--key", tampered.VerifierKey, "--tsa-roots", write("t-tsa.pem", tampered.TSARootPEM), "--roots", write("t-ca.pem", tampered.CAPEM)}
	if code, out := run(append([]string{recorded}, tpins...)...); code != 0 || !strings.Contains(out, "INVALID") ||
		!strings.Contains(out, "1 PDF does not verify (a recorded discrepancy") {
		t.Fatalf("a recorded tampered download: exit %d, want 0\n%s", code, out)
	}
	if code, out := run(append([]string{flipped, "--json"}, pins...)...); code != 1 || !strings.Contains(out, `"item": "callbacks/E1.json"`) {
		t.Fatalf("flipped: exit %d\n%s", code, out)
	}
	if code, out := run(append([]string{flipped}, pins...)...); code != 1 || !strings.Contains(out, "PROBLEM callbacks/E1.json: sha256") {
		t.Fatalf("flipped: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{notZip}, {}, {filepath.Join(in, "missing.zip")}, {bundle, "--roots", keyFile}, {bundle, "--key", "nonsense"}} {
		if code, out := run(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, out)
		}
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("verify left files in its working directory: %v", ents)
	}
}
