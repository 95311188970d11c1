package cli

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/config"
)

// Issue 21: every printed next step works as printed.

// TestDoctorReadsWhatServeReads: with nothing set, serve runs on its
// generated development secret, so doctor must not refuse the
// configuration on QYSHOOK_CALLBACK_SECRET; it writes nothing, and its
// error line says "doctor:" once; a ledger serve has not created yet is
// not a fault. (Failed before: "configuration no
// QYSHOOK_CALLBACK_SECRET: required", and "qyshook doctor: doctor: …".)
func TestDoctorReadsWhatServeReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	vars := map[string]string{"QYSHOOK_DATA_DIR": dir}
	r := opsRun(t, vars, "doctor")
	if !regexp.MustCompile(`configuration +yes`).MatchString(r.stdout) || r.code != ExitOK {
		t.Errorf("nothing set, before the first serve: want all green\n%s", r)
	}
	bad := opsRun(t, map[string]string{"QYSHOOK_DATA_DIR": dir, "QYSHOOK_LOG_LEVEL": "loud"}, "doctor")
	if bad.code != ExitFailure || strings.Count(bad.stderr, "doctor:") != 1 {
		t.Errorf("a refused configuration: want one \"doctor:\"\n%s", bad)
	}
	if _, err := os.Stat(filepath.Join(dir, devSecretFile)); err == nil {
		t.Errorf("doctor wrote the development secret")
	}
	// Once serve has generated it, doctor reads the same file.
	if _, _, err := withDevSecret(func(k string) string { return vars[k] }); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, devSecretFile))
	if got := serveGetenv(func(k string) string { return vars[k] })("QYSHOOK_CALLBACK_SECRET"); got != string(want) {
		t.Errorf("doctor reads secret %q, serve %q", got, want)
	}
}

// TestHelpDoctorSaysWhatItChecks: `help doctor` names its checks, not
// only its usage line (failed before).
func TestHelpDoctorSaysWhatItChecks(t *testing.T) {
	r := mustOpsRun(t, ExitOK, nil, "help", "doctor")
	for _, want := range []string{"configuration", "data dir", "nats", "ledger", "open API", "clock"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help doctor does not mention %q:\n%s", want, r.stdout)
		}
	}
}

// TestHealthcheckFollowsHTTPAddr: healthcheck probes /healthz on
// QYSHOOK_HTTP_ADDR (an address on every interface is probed on
// loopback). Failed before: it always probed :8080.
func TestHealthcheckFollowsHTTPAddr(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, addr := range []string{":" + port, "0.0.0.0:" + port, "127.0.0.1:" + port} {
		r := opsRun(t, map[string]string{"QYSHOOK_HTTP_ADDR": addr}, "healthcheck")
		if r.code != ExitOK || strings.TrimSpace(r.stdout) != "ok" {
			t.Errorf("QYSHOOK_HTTP_ADDR=%s:\n%s", addr, r)
		}
	}
}

// TestViewerTokenKeepsOperatorToken: setting only the viewer token keeps
// the generated operator token (failed before: it was dropped, the CLI
// found none and blamed QYSHOOK_ADMIN_TOKEN).
func TestViewerTokenKeepsOperatorToken(t *testing.T) {
	vars := map[string]string{"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_ADMIN_VIEWER_TOKEN": "viewer-token-0123456789"}
	getenv, path, err := withDevAdminToken(func(k string) string { return vars[k] })
	if err != nil || path == "" {
		t.Fatalf("no operator token generated beside the viewer's: %q %v", path, err)
	}
	cfg, err := config.Load(getenv, config.WithNeeds(0))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.Token == "" || cfg.Admin.ViewerToken.Reveal() != vars["QYSHOOK_ADMIN_VIEWER_TOKEN"] {
		t.Errorf("tokens: operator %v, viewer %v", cfg.Admin.Token != "", cfg.Admin.ViewerToken != "")
	}
	tok, err := adminToken(&Env{Getenv: func(k string) string { return vars[k] }})
	if err != nil || tok != cfg.Admin.Token.Reveal() {
		t.Errorf("the CLI did not find the operator token: %v", err)
	}
}

// TestMigrateUpSaysWhatItApplied: on a fresh database migrate up says
// what it applied, not only "up to date" (failed before).
func TestMigrateUpSaysWhatItApplied(t *testing.T) {
	vars := map[string]string{"QYSHOOK_DATA_DIR": t.TempDir()}
	r := mustOpsRun(t, ExitOK, vars, "migrate", "up")
	if !strings.Contains(r.stdout, "applied ") || !strings.Contains(r.stdout, "schema version 0 -> ") {
		t.Errorf("fresh migrate up:\n%s", r)
	}
	r = mustOpsRun(t, ExitOK, vars, "migrate", "up")
	if !strings.Contains(r.stdout, "no migration to apply") {
		t.Errorf("second migrate up:\n%s", r)
	}
}

// TestListenConflictNamesSetting: a serve whose admin, HTTP or embedded
// NATS address is taken says which setting moves it. Failed before:
// "admin: listen 127.0.0.1:8082: address already in use" and nothing more.
func TestListenConflictNamesSetting(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	for setting, vars := range map[string]map[string]string{
		"QYSHOOK_ADMIN_ADDR":         {"QYSHOOK_ADMIN_ADDR": taken.Addr().String()},
		"QYSHOOK_HTTP_ADDR":          {"QYSHOOK_HTTP_ADDR": taken.Addr().String()},
		"QYSHOOK_EMBEDDED_NATS_ADDR": {"QYSHOOK_EMBEDDED_NATS_ADDR": taken.Addr().String()},
	} {
		base := map[string]string{"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_HTTP_ADDR": freePort(t),
			"QYSHOOK_ADMIN_ADDR": freePort(t), "QYSHOOK_RECONCILE_INTERVAL": "0"}
		for k, v := range vars {
			base[k] = v
		}
		r := opsRun(t, base, "serve")
		if r.code == ExitOK || !strings.Contains(r.stderr, "address already in use") || !strings.Contains(r.stderr, "set "+setting) {
			t.Errorf("%s taken:\n%s", setting, r)
		}
	}
}
