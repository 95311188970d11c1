package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
)

// TestCLIAgainstServeProcess: real processes. `qyshook serve` runs with its
// admin API; the CLI binary, run from another directory with its own
// QYSHOOK_DATA_DIR and QYSHOOK_DB, replays through the API (dry run, then
// --yes) and reads the result back, and leaves nothing in its directory.
func TestCLIAgainstServeProcess(t *testing.T) {
	bin := QyshookBinary(t)
	const secret = "0123456789abcdef"
	srv := startServe(t, bin, t.TempDir(), secret)
	srv.ready(t)
	if code, body := postContract(t, srv.base, secret, "301"); code != 200 || body != "success" {
		t.Fatalf("callback: %d %q", code, body)
	}
	elsewhere := t.TempDir()
	run := func(want int, args ...string) opsResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = elsewhere
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + elsewhere, "QYSHOOK_DATA_DIR=" + elsewhere,
			"QYSHOOK_DB=sqlite://" + elsewhere + "/ledger.db", "QYSHOOK_ADMIN_URL=" + srv.admin, "QYSHOOK_ADMIN_TOKEN=" + serveAdminToken}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := opsResult{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			r.code = ee.ExitCode()
		case err != nil:
			t.Fatalf("run %v: %v", args, err)
		}
		if r.code != want {
			t.Fatalf("qyshook %s: want exit %d, got\n%s", strings.Join(args, " "), want, r)
		}
		return r
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := run(ExitOK, "contracts", "list", "--json")
		if strings.Contains(r.stdout, `"301"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("contract 301 never listed:\n%s", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	run(ExitUsage, "replay")
	r := run(ExitOK, "replay", "--contract", "301")
	if !strings.Contains(r.stdout, "1 events would be republished") {
		t.Fatalf("dry run:\n%s", r)
	}
	var out struct {
		DryRun adminapi.DryRun `json:"dry_run"`
		Job    adminapi.Job    `json:"job"`
	}
	r = run(ExitOK, "replay", "--contract", "301", "--yes", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Job.State != "done" || out.Job.Republished != 1 {
		t.Fatalf("replay --yes: %+v %v\n%s", out, err, r)
	}
	r = run(ExitOK, "contracts", "show", "301")
	if !strings.Contains(r.stdout, "Events (2)") {
		// The replay is applied by the service's dispatcher: wait for it.
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(r.stdout, "Events (2)") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			r = run(ExitOK, "contracts", "show", "301")
		}
		if !strings.Contains(r.stdout, "Events (2)") {
			t.Errorf("the replay was not applied by the service:\n%s", r)
		}
	}
	entries, err := os.ReadDir(elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the CLI created %s in its directory", e.Name())
	}
}
