package cli_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/cli"
	"github.com/qyshook/qyshook/internal/pdfsigtest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys/qystest"
)

// demoStatuses are the final statuses the demo's contracts reach.
var demoStatuses = []string{"COMPLETE", "REJECTED", "RECALLED", "INVALIDED"}

// TestDemo runs the demo in-process and checks that it printed every
// contract with its final status and archived documents whose files hold
// the printed hash.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	if code := cli.Main(ctx, []string{"demo", "-data-dir", dir}, simEnv(&out, &errOut)); code != 0 {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	text := out.String()
	contract := regexp.MustCompile(`(?m)^(\d{19})\s+([A-Z]+)\s+yes\s`)
	statuses := map[string]string{}
	for _, m := range contract.FindAllStringSubmatch(text, -1) {
		statuses[m[2]] = m[1]
	}
	for _, s := range demoStatuses {
		if statuses[s] == "" {
			t.Errorf("no confirmed %s contract in the output:\n%s", s, text)
		}
	}
	doc := regexp.MustCompile(`(?m)^(\d{19})\s+\d{19}\s+\d+\s+([0-9a-f]{64})\s+(\S+)`)
	withDocs := map[string]int{}
	for _, m := range doc.FindAllStringSubmatch(text, -1) {
		withDocs[m[1]]++
		checkDemoFile(t, dir, m[3], m[2])
	}
	if withDocs[statuses["COMPLETE"]] != 2 || withDocs[statuses["INVALIDED"]] != 1 {
		t.Errorf("archived documents per contract: %v, want 2 for the COMPLETE one and 1 for the INVALIDED one", withDocs)
	}
	for _, want := range []string{"demo-company-1", "demo-person-1", "duplicate copies collapsed"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Certifications confirmed through the API (CONFIRMED yes), in the
	// state the API reported.
	cert := regexp.MustCompile(`(?m)^(company|personal)\s+(demo-\S+)\s+SUCCESS\s+(2|realName=true)\s+yes\s+yes`)
	if n := len(cert.FindAllString(text, -1)); n != 2 {
		t.Errorf("%d certifications confirmed successful through the API in the output, want 2:\n%s", n, text)
	}
	// Every archived PDF verified valid, with its signatures counted; the
	// operation logs archived beside them.
	verdict := regexp.MustCompile(`(?m)^\d{19}\s+\d{19}\s+\d+\s+[0-9a-f]{64}\s+\S+\s+valid \(([1-9]\d*)\)\s+good\s+agrees\s`)
	if n := len(verdict.FindAllString(text, -1)); n != 3 {
		t.Errorf("%d PDFs printed as verified valid, revocation good and agreeing with the API, want 3:\n%s", n, text)
	}
	if n := strings.Count(text, ".oplog "); n != 2 {
		t.Errorf("%d operation logs printed, want one per signed contract (2)", n)
	}
	if strings.Contains(text, "DISCREPANCY") {
		t.Errorf("an ordinary demo shows a discrepancy:\n%s", text)
	}
	// A verified, anchored checkpoint of the receipt log, as soon as the
	// ledger keeps one (app.LogHeader); before, the demo says it has none.
	if _, ok := testdb.Open(t, testdb.SQLite).(app.LogHeader); ok {
		anchored := regexp.MustCompile(`(?m)^RECEIPT LOG CHECKPOINT .*verified\)\n  \d+ leaves, root [A-Za-z0-9+/]{43}=, signed .*\n  time-stamp: \S+ by http://\S+/tsa \(chain to the pinned root: yes\)`)
		if !anchored.MatchString(text) {
			t.Errorf("no verified anchored checkpoint in the output:\n%s", text)
		}
	} else if !strings.Contains(text, "RECEIPT LOG: this build's ledger keeps no receipt log") {
		t.Errorf("the output does not say there is no receipt log:\n%s", text)
	}
	checkDemoPDFSig(t, dir, text)
	checkDemoEvidence(t, dir, text, statuses)
}

// checkDemoEvidence: every ended contract has an evidence bundle under
// the data dir, and each passes evidence.Verify with what the printed
// verify command pins (the log's key, the authority's root, the fake's CA).
func checkDemoEvidence(t *testing.T, dir, text string, statuses map[string]string) {
	t.Helper()
	rows := regexp.MustCompile(`(?m)^(\d{19})\s+([A-Z]+)\s+v(\d+)\s+\d+\s+\d+\s+([0-9a-f]{64})\s+(evidence/\S+\.zip)$`).FindAllStringSubmatch(text, -1)
	got := map[string]string{}
	for _, m := range rows {
		got[m[2]] = m[1]
	}
	for _, st := range demoStatuses {
		if got[st] == "" || got[st] != statuses[st] {
			t.Errorf("no evidence bundle of the %s contract in the output:\n%s", st, text)
		}
	}
	cmd := regexp.MustCompile(`qyshook evidence verify --key (\S+) --tsa-roots (\S+) --roots (\S+) (\S+)`).FindStringSubmatch(text)
	if cmd == nil {
		t.Fatalf("no verify command in the output:\n%s", text)
	}
	key, err := os.ReadFile(cmd[1])
	if err != nil {
		t.Fatal(err)
	}
	o := evidence.VerifyOptions{VerifierKeys: []string{strings.TrimSpace(string(key))}, TSARoots: demoPool(t, cmd[2]), PDFRoots: demoPool(t, cmd[3])}
	for _, m := range rows {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m[5])))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != m[4] {
			t.Errorf("%s: sha256 %x, printed %s", m[5], h, m[4])
		}
		res, err := evidence.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), o)
		if err != nil || res.Problems != 0 {
			t.Errorf("%s: %v, %+v", m[5], err, res)
		}
		if n := checkBundlePDFSig(t, dir, m[5], b); m[2] == "COMPLETE" && n == 0 {
			t.Errorf("%s: the COMPLETE contract's bundle holds no PDF", m[5])
		}
	}
}

// checkBundlePDFSig takes the PDFs out of a bundle and has pdfsig,
// trusting the CA the demo wrote to the data dir, find every signature
// valid and trusted; it returns how many PDFs the bundle holds. pdfsig or
// certutil absent: the check is skipped (the test is not).
func checkBundlePDFSig(t *testing.T, dir, name string, b []byte) int {
	t.Helper()
	c, err := evidence.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return 0
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"pdfsig", "certutil"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s not installed: the PDFs of %s not checked with pdfsig", tool, name)
			return len(c.Summary.PDFs)
		}
	}
	nss := pdfsigtest.Trust(t, filepath.Join(dir, qystest.CAFileName))
	out := t.TempDir()
	n := 0
	for i, p := range c.Summary.PDFs {
		if p.Path == "" {
			continue // not in the bundle
		}
		n++
		f, err := zr.Open(p.Path)
		if err != nil {
			t.Errorf("%s: %s: %v", name, p.Path, err)
			continue
		}
		pdf, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(out, fmt.Sprintf("%d.pdf", i))
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		// The fake's OCSP service stopped with the demo: chain and
		// signature only (the bundle carries the OCSP answers).
		sigs, report := pdfsigtest.Check(t, nss, path, "-no-ocsp")
		if len(sigs) == 0 {
			t.Errorf("%s: pdfsig found no signature in %s:\n%s", name, p.Path, report)
		}
		for j, s := range sigs {
			if s.Validation != "Signature is Valid." || s.Certificate != "Certificate is Trusted." {
				t.Errorf("%s: %s signature %d: %v\n%s", name, p.Path, j+1, s, report)
			}
		}
	}
	return n
}

func demoPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", path)
	}
	return p
}

// checkDemoPDFSig: the demo printed where it wrote the fake's CA, and
// pdfsig, trusting that CA, finds every signature of every archived PDF
// valid and trusted.
func checkDemoPDFSig(t *testing.T, dir, text string) {
	t.Helper()
	m := regexp.MustCompile(`written to (\S+): trust it`).FindStringSubmatch(text)
	if m == nil || m[1] != filepath.Join(dir, qystest.CAFileName) {
		t.Fatalf("the demo did not print the CA file in %s:\n%s", dir, text)
	}
	nss := pdfsigtest.Trust(t, m[1])
	pdfs := regexp.MustCompile(`(?m)^\d{19}\s+\d{19}\s+\d+\s+[0-9a-f]{64}\s+(\S+\.pdf)\s`).FindAllStringSubmatch(text, -1)
	if len(pdfs) != 3 {
		t.Fatalf("%d archived PDFs printed, want 3", len(pdfs))
	}
	for _, p := range pdfs {
		// The fake's OCSP service stopped with the demo: chain and
		// signature only (the archive keeps the OCSP answers it fetched).
		sigs, out := pdfsigtest.Check(t, nss, p[1], "-no-ocsp")
		if len(sigs) == 0 {
			t.Errorf("pdfsig found no signature in %s:\n%s", p[1], out)
		}
		for i, s := range sigs {
			if !s.Valid() {
				t.Errorf("%s signature %d: %v\n%s", p[1], i+1, s, out)
			}
		}
	}
}

func checkDemoFile(t *testing.T, dir, path, sum string) {
	t.Helper()
	if !strings.HasPrefix(path, dir) {
		t.Errorf("document %s is not under the data dir %s", path, dir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("document: %v", err)
		return
	}
	if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
		t.Errorf("%s: sha256 %x, printed %s", path, h, sum)
	}
}

// TestDemoProcess runs `qyshook demo -json` as a real process.
func TestDemoProcess(t *testing.T) {
	bin := cli.QyshookBinary(t)
	dir := filepath.Join(t.TempDir(), "data-demo")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "-data-dir", dir, "-json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qyshook demo: %v\n%s", err, stderr.String())
	}
	var sum struct {
		DataDir   string `json:"data_dir"`
		Contracts []struct {
			ID        string `json:"id"`
			Status    string `json:"status"`
			Confirmed bool   `json:"confirmed"`
			Documents []struct {
				SHA256 string `json:"sha256"`
				Path   string `json:"path"`
			} `json:"documents"`
		} `json:"contracts"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("demo -json: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, c := range sum.Contracts {
		got[c.Status] = c.Confirmed
		for _, d := range c.Documents {
			checkDemoFile(t, dir, d.Path, d.SHA256)
		}
	}
	for _, s := range demoStatuses {
		if !got[s] {
			t.Errorf("no confirmed %s contract: %s", s, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".qyshook-demo")); err != nil {
		t.Errorf("data dir not kept: %v", err)
	}
}

// TestDemoServeNextStepWorks: the demo's printed next step works as
// printed. Without -serve it no longer prints `contracts list` (which
// failed: the demo had exited); with -serve it stays up and the printed
// `QYSHOOK_DATA_DIR=… qyshook contracts list` lists the demo's contracts.
func TestDemoServeNextStepWorks(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, errOut := &syncBuf{}, &syncBuf{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"demo", "-serve", "-admin-addr", "127.0.0.1:0", "-data-dir", dir}, &cli.Env{Stdout: out, Stderr: errOut, Getenv: func(string) string { return "" }})
	}()
	re := regexp.MustCompile(`browse this run:\s+(.+)\n`)
	var step string
	for step == "" {
		select {
		case code := <-done:
			t.Fatalf("demo -serve exited %d:\n%s\n%s", code, out.String(), errOut.String())
		case <-time.After(200 * time.Millisecond):
		}
		if m := re.FindStringSubmatch(out.String()); m != nil {
			step = m[1]
		}
	}
	// Run the printed command: VAR=value… qyshook contracts list.
	vars := map[string]string{}
	fields := strings.Fields(step)
	for len(fields) > 0 && strings.Contains(fields[0], "=") {
		k, v, _ := strings.Cut(fields[0], "=")
		vars[k], fields = v, fields[1:]
	}
	if len(fields) < 1 || fields[0] != "qyshook" {
		t.Fatalf("printed step %q", step)
	}
	var lo, le bytes.Buffer
	if code := cli.Main(ctx, fields[1:], &cli.Env{Stdout: &lo, Stderr: &le, Getenv: func(k string) string { return vars[k] }}); code != 0 {
		t.Fatalf("printed step %q: exit %d\n%s%s", step, code, lo.String(), le.String())
	}
	for _, s := range demoStatuses {
		if !strings.Contains(lo.String(), s) {
			t.Errorf("contracts list lacks %s:\n%s", s, lo.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("demo -serve after interrupt: exit %d\n%s", code, errOut.String())
	}
}

// syncBuf is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
