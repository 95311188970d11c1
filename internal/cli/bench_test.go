package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchCommand(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), append([]string{"bench"}, args...), &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		return code, out.String(), errb.String()
	}
	if code, _, stderr := run(); code != ExitUsage || !strings.Contains(stderr, "receiver|dispatcher|archive") {
		t.Fatalf("no benchmark: exit %d, %q", code, stderr)
	}
	if code, _, _ := run("nope"); code != ExitUsage {
		t.Fatalf("unknown benchmark: exit %d", code)
	}
	if code, out, stderr := run("receiver", "-c", "4", "-n", "200"); code != ExitOK || !strings.Contains(out, "callbacks/s") {
		t.Fatalf("bench receiver: exit %d, %q %q", code, out, stderr)
	}
	if code, out, stderr := run("dispatcher", "-n", "200"); code != ExitOK || !strings.Contains(out, "events/s") {
		t.Fatalf("bench dispatcher: exit %d, %q %q", code, out, stderr)
	}
	// On a grown ledger: the template is created once, then copied.
	tmpl := filepath.Join(t.TempDir(), "grown.db")
	for range 2 {
		if code, out, stderr := run("dispatcher", "-n", "200", "-ledger-rows", "2000", "-ledger-template", tmpl); code != ExitOK || !strings.Contains(out, "events/s") {
			t.Fatalf("bench dispatcher on a grown ledger: exit %d, %q %q", code, out, stderr)
		}
	}
	if code, _, stderr := run("dispatcher", "-n", "200", "-ledger-template", filepath.Join(t.TempDir(), "missing.db")); code == ExitOK || !strings.Contains(stderr, "-ledger-rows") {
		t.Fatalf("a missing template without -ledger-rows: exit %d, %q", code, stderr)
	}
	if code, _, _ := run("dispatcher", "-n", "200", "-ledger-rows", "-1"); code != ExitUsage {
		t.Fatalf("-ledger-rows -1: exit %d", code)
	}
	if code, out, stderr := run("archive", "-size-mib", "4"); code != ExitOK || !strings.Contains(out, "peak heap") {
		t.Fatalf("bench archive: exit %d, %q %q", code, out, stderr)
	}
}
