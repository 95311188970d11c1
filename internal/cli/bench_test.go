package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func runBenchCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"bench"}, args...), &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func TestBenchCommand(t *testing.T) {
	run := runBenchCmd
	if code, _, stderr := run(); code != ExitUsage || !strings.Contains(stderr, "receiver|dispatcher|archive|soak|burst") {
		t.Fatalf("no benchmark: exit %d, %q", code, stderr)
	}
	if code, _, _ := run("nope"); code != ExitUsage {
		t.Fatalf("unknown benchmark: exit %d", code)
	}
	code, out, stderr := run("receiver", "-c", "4", "-n", "100", "-rounds", "2")
	if code != ExitOK {
		t.Fatalf("bench receiver: exit %d, %q %q", code, out, stderr)
	}
	for _, want := range []string{"ROUND", "TARGET", "SYNC", "PER_SEC", "P99", "CPU_PER_REQ", "RATIO", "no-op", "always", "2m0s",
		"median of 2 rounds", "µs CPU per callback", "receiver/no-op ratio",
		"bare", "RATIO_BARE", "receiver/bare ratio", "bare net/http no-op"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bench receiver output lacks %q:\n%s", want, out)
		}
	}
	if rows := strings.Count(out, "\n2     receiver"); rows != 2 {
		t.Fatalf("round 2 has %d receiver rows, want 2 (synced and relaxed):\n%s", rows, out)
	}
	if code, out, stderr := run("dispatcher", "-n", "200"); code != ExitOK || !strings.Contains(out, "events/s") {
		t.Fatalf("bench dispatcher: exit %d, %q %q", code, out, stderr)
	}
	code, out, stderr = run("dispatcher", "-n", "100", "-per-contract", "1", "-rounds", "2", "-db", "sqlite,sqlite")
	if code != ExitOK || strings.Count(out, "round ") != 4 || !strings.Contains(out, "sqlite ÷ sqlite per round") || !strings.Contains(out, "median") {
		t.Fatalf("bench dispatcher -rounds 2 over two ledgers: exit %d, %q %q", code, out, stderr)
	}
	// -receipt-log both: each round runs with the log and without it.
	code, out, stderr = run("dispatcher", "-n", "100", "-per-contract", "1", "-rounds", "2", "-receipt-log", "both")
	if code != ExitOK || strings.Count(out, "round ") != 4 || strings.Count(out, "no receipt log") != 2 ||
		!strings.Contains(out, "sqlite with the receipt log ÷ without, per round: ") || !strings.Contains(out, "µs/event") {
		t.Fatalf("bench dispatcher -receipt-log both: exit %d, %q %q", code, out, stderr)
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

func TestBenchSoakAndBurstCommands(t *testing.T) {
	code, out, stderr := runBenchCmd("soak", "-d", "1s", "-interval", "400ms", "-c", "2")
	if code != ExitOK {
		t.Fatalf("bench soak: exit %d, %q %q", code, out, stderr)
	}
	for _, want := range []string{"ACCEPTED/S", "LAG_P50", "LAG_P99", "RSS", "soak (sqlite, sync always)", "callback→fact lag", "DLQ 0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bench soak output lacks %q:\n%s", want, out)
		}
	}
	code, out, stderr = runBenchCmd("burst", "-n", "200", "-c", "8")
	if code != ExitOK {
		t.Fatalf("bench burst: exit %d, %q %q", code, out, stderr)
	}
	for _, want := range []string{"accepted 200 of 200", "applied 100 %", "dispatcher stopped", "per million held", "first 10 %", "last 10 %", "ledger"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bench burst output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"receiver", "-rounds", "0"},
		{"receiver", "-c", "0"},
		{"receiver", "-sync", "never"},
		{"receiver", "-bodies", "/nonexistent/bodies"},
		{"receiver", "-serve", "-d", "1s"},
		{"receiver", "-serve", "-port", "subscribe"},
		{"dispatcher", "-rounds", "-1"},
		{"dispatcher", "-db", "mysql://x"},
		{"dispatcher", "-db", "sqlite,"},
		{"dispatcher", "-receipt-log", "sometimes"},
		{"dispatcher", "-receipt-log", "both", "-no-receipt-log"},
		{"soak", "-d", "0s"},
		{"soak", "-interval", "0s"},
		{"soak", "-rate", "-1"},
		{"soak", "-sync", "both"},
		{"soak", "-db", "sqlite,sqlite"},
		{"burst", "-n", "0"},
		{"burst", "-db", "oracle://x"},
		{"burst", "-sync", "0s"},
	} {
		if code, out, stderr := runBenchCmd(args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (usage); %q %q", args, code, ExitUsage, out, stderr)
		}
	}
}

func TestBenchDBs(t *testing.T) {
	got, err := benchDBs("sqlite, postgres://u@h/db?sslmode=disable,postgresql://h/x")
	if err != nil || !slices.Equal(got, []string{"sqlite", "postgres://u@h/db?sslmode=disable", "postgresql://h/x"}) {
		t.Fatalf("benchDBs = %v, %v", got, err)
	}
	if _, err := benchDBs(""); err == nil {
		t.Fatal("empty -db accepted")
	}
	if _, err := benchDB("sqlite,sqlite"); err == nil {
		t.Fatal("two ledgers accepted where one is wanted")
	}
	if d, err := benchSync("always"); err != nil || d != 0 {
		t.Fatalf("benchSync(always) = %v, %v", d, err)
	}
	if d, err := benchSync("30s"); err != nil || d != 30*time.Second {
		t.Fatalf("benchSync(30s) = %v, %v", d, err)
	}
}
