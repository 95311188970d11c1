package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
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
	t.Run("ContractsShowNotFound", func(t *testing.T) {
		run(t, ExitOK, nil, "migrate", "up")
		r := run(t, ExitNotFound, nil, "contracts", "show", "nope")
		assertOneLine(t, r, "qyshook contracts: no contract nope")
		var rows []contractRow
		mustOpsJSON(t, run(t, ExitOK, nil, "contracts", "list", "--json"), &rows)
		if len(rows) != 0 {
			t.Errorf("contracts list --json = %+v", rows)
		}
	})
	t.Run("DatabaseUnreachable", func(t *testing.T) {
		vars := map[string]string{"QYSHOOK_DB": "postgres://postgres:hunter22@127.0.0.1:1/x?sslmode=disable&connect_timeout=5"}
		for _, args := range [][]string{{"contracts", "list"}, {"dlq", "list"}, {"migrate", "up"}} {
			r := run(t, ExitUnavailable, vars, args...)
			assertOneLine(t, r, "database unavailable", "hunter22")
			if r.stdout != "" {
				t.Errorf("%v printed to stdout:\n%s", args, r)
			}
		}
	})
	t.Run("NATSUnreachable", func(t *testing.T) {
		run(t, ExitOK, nil, "migrate", "up")
		seedDeadLetter(t, "sqlite://"+ledger)
		before := deadLetterIDsAt(t, "sqlite://"+ledger)
		vars := map[string]string{"QYSHOOK_NATS_URL": "nats://127.0.0.1:1"}
		r := run(t, ExitUnavailable, vars, "dlq", "purge", "--all", "--yes")
		assertOneLine(t, r, "qyshook dlq: nats: not reachable")
		if after := deadLetterIDsAt(t, "sqlite://"+ledger); len(before) == 0 || !slices.Equal(before, after) {
			t.Errorf("dead letters before %v, after the failed purge %v", before, after)
		}
		var list []deadLetterView
		mustOpsJSON(t, run(t, ExitOK, vars, "dlq", "list", "--json"), &list)
		if len(list) != len(before) {
			t.Errorf("dlq list --json = %+v", list)
		}
	})
}

func seedDeadLetter(tb testing.TB, u string) {
	tb.Helper()
	l := openAt(tb, u)
	defer l.Close()
	addOpsDeadLetter(tb, l, "ev", mustEncode(tb, opsEnvelope("3121362688600000003", "SIGNED", "SIGNING")))
}

func deadLetterIDsAt(tb testing.TB, u string) []int64 {
	tb.Helper()
	l := openAt(tb, u)
	defer l.Close()
	return opsDeadLetterIDs(tb, l)
}

// openAt opens the ledger at u; the caller closes it.
func openAt(tb testing.TB, u string) store.Ledger {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := ledgerdb.Open(ctx, u, "")
	if err != nil {
		tb.Fatal(err)
	}
	return l
}
