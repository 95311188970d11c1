package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store/ledgerdb"
)

// TestQyshookProcess builds cmd/qyshook and runs it as a real process:
// exit codes, stdout/stderr separation and --json as a shell script sees
// them.
func TestQyshookProcess(t *testing.T) {
	bin := QyshookBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ledger := filepath.Join(data, ledgerdb.DefaultFile)
	run := func(t *testing.T, want int, vars map[string]string, args ...string) opsResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "QYSHOOK_DATA_DIR=" + data}
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
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

	t.Run("NoArguments", func(t *testing.T) {
		r := run(t, ExitUsage, nil)
		for _, want := range []string{"Usage", "contracts", "dlq", "migrate", "reconcile"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("usage lacks %q:\n%s", want, r)
			}
		}
	})
	t.Run("UnknownCommand", func(t *testing.T) {
		assertOneLine(t, run(t, ExitUsage, nil, "frobnicate"), `unknown command "frobnicate"`)
	})
	t.Run("BadFlag", func(t *testing.T) {
		r := run(t, ExitUsage, nil, "contracts", "list", "--bogus")
		if !strings.Contains(r.stderr, "Usage: qyshook contracts list") || r.stdout != "" {
			t.Errorf("bad flag:\n%s", r)
		}
	})
	t.Run("MigrateVersionFreshFile", func(t *testing.T) {
		r := run(t, ExitOK, nil, "migrate", "version")
		if !strings.Contains(r.stdout, "schema version 0 of") {
			t.Errorf("migrate version:\n%s", r)
		}
		if _, err := os.Stat(ledger); err == nil {
			t.Error("migrate version created the ledger")
		}
		run(t, ExitOK, nil, "migrate", "up")
		var sv schemaVersion
		mustOpsJSON(t, run(t, ExitOK, nil, "migrate", "version", "--json"), &sv)
		if sv.Version != latestMigration() || sv.Dirty || sv.Database != "sqlite" {
			t.Errorf("after up: %+v", sv)
		}
	})
	t.Run("HelpOnStdout", func(t *testing.T) {
		for _, args := range [][]string{{"help", "replay"}, {"dlq", "-h"}, {"bench", "--help"}} {
			r := run(t, ExitOK, nil, args...)
			if !strings.Contains(r.stdout, "Usage") || r.stderr != "" {
				t.Errorf("%v:\n%s", args, r)
			}
		}
	})
	t.Run("DatabaseUnreachable", func(t *testing.T) {
		vars := map[string]string{"QYSHOOK_DB": "postgres://postgres:hunter22@127.0.0.1:1/x?sslmode=disable&connect_timeout=5"}
		r := run(t, ExitUnavailable, vars, "migrate", "up")
		assertOneLine(t, r, "database unavailable", "hunter22")
		if r.stdout != "" {
			t.Errorf("migrate up printed to stdout:\n%s", r)
		}
	})
	t.Run("AdminAPIUnreachable", func(t *testing.T) {
		// The operator commands never open QYSHOOK_DB: only the admin API
		// matters, and without a service they fail with one line.
		vars := map[string]string{"QYSHOOK_ADMIN_URL": "http://127.0.0.1:1", "QYSHOOK_ADMIN_TOKEN": "operator-token-0123456789",
			"QYSHOOK_DB": "sqlite://" + filepath.Join(dir, "elsewhere.db")}
		for _, args := range [][]string{{"contracts", "list"}, {"dlq", "list"}, {"dlq", "purge", "--all", "--yes", "--reason", "x"},
			{"replay", "--from-seq", "1", "--yes"}} {
			r := run(t, ExitUnavailable, vars, args...)
			assertOneLine(t, r, "admin API at http://127.0.0.1:1 unreachable", "operator-token-0123456789")
			if r.stdout != "" {
				t.Errorf("%v printed to stdout:\n%s", args, r)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "elsewhere.db")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an operator command created a ledger: %v", err)
		}
	})
}
