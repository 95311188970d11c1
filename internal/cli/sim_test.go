package cli_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/cli"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

const simSecret = "0123456789abcdef"

// simBuffer is a bytes.Buffer safe for a command writing while the test reads.
type simBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *simBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *simBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func simEnv(stdout, stderr io.Writer) *cli.Env {
	return &cli.Env{Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }}
}

var simURLRE = regexp.MustCompile(`QYSHOOK_QYS_BASE_URL=(\S+)`)

// waitSimURL waits for a sim to print its base URL.
func waitSimURL(t *testing.T, out interface{ String() string }) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := simURLRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the sim printed no base URL:\n%s", out.String())
	return ""
}

// simReceiver is a callback receiver that verifies like qyshook does.
type simReceiver struct {
	mu    sync.Mutex
	types []string
	bad   []string
}

func newSimReceiver(t *testing.T) (*simReceiver, *httptest.Server) {
	v, err := qys.NewVerifier(qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{simSecret}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &simReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		kind := map[string]qys.Kind{"/callbacks/default/contract": qys.KindContract,
			"/callbacks/default/auth/company": qys.KindAuthCompany}[r.URL.Path]
		cb, err := v.Verify(kind, qys.RawRequest{Method: r.Method, ContentType: r.Header.Get("Content-Type"),
			Query: r.URL.Query(), Header: r.Header, Body: body})
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if err != nil {
			rec.bad = append(rec.bad, r.URL.Path+": "+err.Error())
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		rec.types = append(rec.types, cb.CallbackType)
		_, _ = io.WriteString(w, "success")
	}))
	t.Cleanup(srv.Close)
	return rec, srv
}

func TestSimTriggerComplete(t *testing.T) {
	rec, recv := newSimReceiver(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &simBuffer{}, &simBuffer{}
	done := make(chan int, 1)
	dataDir := t.TempDir()
	go func() {
		done <- cli.Main(ctx, []string{"sim", "-addr", "127.0.0.1:0", "-data-dir", dataDir, "-callback-base", recv.URL + "/callbacks/default",
			"-secret", simSecret, "-time-scale", "0.001"}, simEnv(out, errOut))
	}()
	simURL := waitSimURL(t, out)
	checkSimCA(t, dataDir, out.String())

	var stdout, stderr bytes.Buffer
	if code := cli.Main(ctx, []string{"sim", "trigger", "complete", "-sim", simURL, "-json"}, simEnv(&stdout, &stderr)); code != 0 {
		t.Fatalf("trigger complete: exit %d: %s", code, stderr.String())
	}
	var res qystest.TriggerResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("trigger output: %v\n%s", err, stdout.String())
	}
	if res.Status != lifecycle.Complete || len(res.Callbacks) != 4 {
		t.Errorf("trigger: status %s, %d callbacks, want COMPLETE and 4", res.Status, len(res.Callbacks))
	}
	for _, c := range res.Callbacks {
		if c.State != "accepted" {
			t.Errorf("callback %d %s: %s %d %s", c.Callback, c.CallbackType, c.State, c.StatusCode, c.Error)
		}
	}
	rec.mu.Lock()
	types, bad := slices.Clone(rec.types), rec.bad
	rec.mu.Unlock()
	if want := []string{"SEND_SIGNING", "SEAL", "PERSONAL", "COMPLETE"}; !slices.Equal(types, want) || len(bad) > 0 {
		t.Errorf("receiver got %v (refused %v), want %v", types, bad, want)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ExitNotFound", []string{"sign", "-contract", "42"}, cli.ExitNotFound, "unknown contract"},
		{"ExitFailureInvalidState", []string{"sign", "-contract", res.ContractID}, cli.ExitFailure, "COMPLETE"},
		{"OKText", []string{"-sim", simURL, "auth-company"}, cli.ExitOK, "accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o, e bytes.Buffer
			if code := cli.Main(ctx, append([]string{"sim", "trigger", "-sim", simURL}, tc.args...), simEnv(&o, &e)); code != tc.code {
				t.Errorf("exit %d, want %d: %s%s", code, tc.code, o.String(), e.String())
			}
			if !strings.Contains(o.String()+e.String(), tc.want) {
				t.Errorf("output lacks %q: %s%s", tc.want, o.String(), e.String())
			}
		})
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("sim exited %d: %s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sim did not stop")
	}
	if !strings.Contains(out.String(), "COMPLETE") || !strings.Contains(out.String(), "accepted") {
		t.Errorf("sim did not log the deliveries:\n%s", out.String())
	}
}

// checkSimCA: the sim wrote its signing CA into the data dir as a PEM CA
// certificate and printed where.
func checkSimCA(t *testing.T, dir, banner string) {
	t.Helper()
	path := filepath.Join(dir, qystest.CAFileName)
	if !strings.Contains(banner, "written to "+path) {
		t.Errorf("the banner does not name %s:\n%s", path, banner)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		t.Fatalf("%s is not one PEM certificate", path)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("%s: not a CA certificate (%v)", path, err)
	}
}

func TestSimTriggerUnknownScenario(t *testing.T) {
	var o, e bytes.Buffer
	if code := cli.Main(context.Background(), []string{"sim", "trigger", "explode"}, simEnv(&o, &e)); code != cli.ExitUsage {
		t.Errorf("exit %d, want %d", code, cli.ExitUsage)
	}
	if !strings.Contains(e.String(), "auth-personal") {
		t.Errorf("stderr does not list the scenarios: %s", e.String())
	}
}

func TestSimTriggerUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var o, e bytes.Buffer
	code := cli.Main(context.Background(), []string{"sim", "trigger", "complete", "-sim", "http://" + addr}, simEnv(&o, &e))
	if code != cli.ExitUnavailable {
		t.Errorf("exit %d, want %d: %s", code, cli.ExitUnavailable, e.String())
	}
}

// TestSimProcess runs `qyshook sim` as a real process and stops it with
// an interrupt, as a developer would.
func TestSimProcess(t *testing.T) {
	bin := cli.QyshookBinary(t)
	out := &simBuffer{}
	cmd := exec.Command(bin, "sim", "-addr", "127.0.0.1:0", "-callback-base", "http://127.0.0.1:1/none")
	cmd.Dir = t.TempDir() // the CA goes to ./data
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	simURL := waitSimURL(t, out)
	var o, e bytes.Buffer
	if code := cli.Main(context.Background(), []string{"sim", "trigger", "create", "-sim", simURL}, simEnv(&o, &e)); code != 0 {
		t.Errorf("trigger create: exit %d: %s", code, e.String())
	}
	if !strings.Contains(o.String(), "is DRAFT") {
		t.Errorf("trigger create printed %q", o.String())
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sim: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("sim did not stop on interrupt")
	}
}

// simCreate starts a sim with extra flags, creates one contract through
// the control API, stops the sim and returns the contract's id.
func simCreate(t *testing.T, flags ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &simBuffer{}, &simBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"sim", "-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-callback-base", "http://127.0.0.1:1/none",
			"-secret", simSecret}, flags...), simEnv(out, errOut))
	}()
	simURL := waitSimURL(t, out)
	var stdout, stderr bytes.Buffer
	if code := cli.Main(ctx, []string{"sim", "trigger", "create", "-sim", simURL, "-json"}, simEnv(&stdout, &stderr)); code != 0 {
		t.Fatalf("trigger create: exit %d: %s", code, stderr.String())
	}
	var res qystest.TriggerResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.ContractID == "" {
		t.Fatalf("trigger output: %v\n%s", err, stdout.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("sim exited %d: %s", code, errOut.String())
	}
	return res.ContractID
}

// TestSimIDsPerRun: a restarted sim hands out new contract ids (the same
// ids collided in a ledger the first run had written); -id-seed repeats.
func TestSimIDsPerRun(t *testing.T) {
	if a, b := simCreate(t), simCreate(t); a == b {
		t.Fatalf("two sim runs created contract %s twice", a)
	}
	if a, b := simCreate(t, "-id-seed", "12"), simCreate(t, "-id-seed", "12"); a != b {
		t.Fatalf("-id-seed 12 gave %s then %s", a, b)
	}
	var o, e bytes.Buffer
	if code := cli.Main(context.Background(), []string{"sim", "-id-seed", "x"}, simEnv(&o, &e)); code != cli.ExitUsage {
		t.Fatalf("-id-seed x: exit %d, want %d", code, cli.ExitUsage)
	}
}

// TestSimAuthShape: `sim -auth-shape direct` sends certification results
// as plain unsigned form fields, as direct-mode deployments receive them.
func TestSimAuthShape(t *testing.T) {
	var mu sync.Mutex
	var forms []url.Values
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f, _ := url.ParseQuery(string(body))
		mu.Lock()
		forms = append(forms, f)
		mu.Unlock()
		_, _ = io.WriteString(w, "success")
	}))
	t.Cleanup(sink.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &simBuffer{}, &simBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"sim", "-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-callback-base", sink.URL + "/callbacks/default",
			"-secret", simSecret, "-auth-shape", "direct"}, simEnv(out, errOut))
	}()
	simURL := waitSimURL(t, out)
	var stdout, stderr bytes.Buffer
	if code := cli.Main(ctx, []string{"sim", "trigger", "auth-company", "-sim", simURL, "-contract", "req-9"}, simEnv(&stdout, &stderr)); code != 0 {
		t.Fatalf("trigger auth-company: exit %d: %s", code, stderr.String())
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(forms) != 1 || forms[0].Get("requestId") != "req-9" || forms[0].Get("status") != "1" ||
		forms[0].Has("signature") || forms[0].Has("content") {
		t.Fatalf("received %v, want one plain unsigned form with requestId req-9 and status 1", forms)
	}

	var o, e bytes.Buffer
	if code := cli.Main(context.Background(), []string{"sim", "-auth-shape", "bogus"}, simEnv(&o, &e)); code != cli.ExitUsage {
		t.Fatalf("-auth-shape bogus: exit %d, want %d", code, cli.ExitUsage)
	}
	if !strings.Contains(e.String(), "auth-shape") {
		t.Errorf("stderr lacks the flag name: %s", e.String())
	}
}
