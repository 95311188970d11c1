package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseMixed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  string
		json bool
	}{
		{[]string{"a", "--json"}, "a", true},
		{[]string{"--json", "a"}, "a", true},
		{[]string{"a", "b"}, "a b", false},
		{[]string{"--", "--json"}, "--json", false},
		{nil, "", false},
	} {
		fs := newFlags(&Env{Stderr: new(strings.Builder)}, "x", "")
		asJSON := fs.Bool("json", false, "")
		pos, err := parseMixed(fs, tc.args)
		if err != nil || strings.Join(pos, " ") != tc.pos || *asJSON != tc.json {
			t.Errorf("parseMixed(%q) = %q json=%v err=%v", tc.args, pos, *asJSON, err)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"72h":                       now.Add(-72 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"2025-05-30T08:00:00Z":      time.Date(2025, 5, 30, 8, 0, 0, 0, time.UTC),
		"2025-05-30T16:00:00+08:00": time.Date(2025, 5, 30, 8, 0, 0, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "-1h", "2025-06-02T00:00:00Z", "2025-05-30"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func TestDisplayWidth(t *testing.T) {
	for in, want := range map[string]int{"": 0, "abc": 3, "张三": 4, "a契约锁b": 8, "ｱ": 1, "ＡＢ": 4, "é": 1, "e\u0301": 1,
		"합의": 4, "🙂": 2, "—": 1} {
		if got := displayWidth(in); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestTableAlignsChineseText: every column starts at the same terminal
// column on every row, whatever mix of 汉字 and ASCII the cells hold.
func TestTableAlignsChineseText(t *testing.T) {
	var b bytes.Buffer
	tb := newTable(&b, "ID", "SUBJECT", "STATUS")
	tb.row("1", "采购合同", "COMPLETE")
	tb.row("22", "lease", "SIGNING")
	tb.row("333", "上海某某科技有限公司 NDA", "DRAFT")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	col := func(line, cell string) int { return displayWidth(line[:strings.Index(line, cell)]) }
	want := col(lines[0], "STATUS")
	for i, status := range []string{"COMPLETE", "SIGNING", "DRAFT"} {
		if got := col(lines[i+1], status); got != want {
			t.Errorf("row %d: STATUS at column %d, header at %d:\n%s", i+1, got, want, b.String())
		}
	}
}

// TestHelpOnStdout: qyshook help <command>, <command> -h and --help print
// the command's help on stdout and exit 0; bench --help is help, not a
// benchmark named --help.
func TestHelpOnStdout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "replay"}, "Usage: qyshook replay"},
		{[]string{"replay", "-h"}, "Usage: qyshook replay"},
		{[]string{"replay", "--help"}, "-from-seq"},
		{[]string{"help", "dlq"}, "qyshook dlq retry"},
		{[]string{"dlq", "-h"}, "qyshook dlq purge"},
		{[]string{"dlq", "retry", "-h"}, "Usage: qyshook dlq retry"},
		{[]string{"help", "dlq", "purge"}, "-reason"},
		{[]string{"contracts", "list", "--help"}, "-status"},
		{[]string{"certifications", "list", "--help"}, "-unconfirmed"},
		{[]string{"help", "certifications"}, "qyshook certifications show <request-id>"},
		{[]string{"certifications", "show", "-h"}, "confirmed it (and why"},
		{[]string{"help"}, "certifications"},
		{[]string{"reconcile", "-h"}, "-since"},
		{[]string{"migrate", "--help"}, "qyshook migrate up"},
		{[]string{"bench", "--help"}, "receiver|dispatcher|archive"},
		{[]string{"help", "bench"}, "receiver|dispatcher|archive"},
		{[]string{"bench", "receiver", "-h"}, "Usage: qyshook bench receiver"},
		{[]string{"healthcheck", "-h"}, "-url"},
		{[]string{"serve", "-h"}, "QYSHOOK_API_RATE"},
		{[]string{"serve", "--help"}, "QYSHOOK_API_INFLIGHT"},
		{[]string{"help"}, "Commands:"},
		{[]string{"--help"}, "reconcile"},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), tc.args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		if code != ExitOK || !strings.Contains(out.String(), tc.want) || errb.Len() != 0 {
			t.Errorf("qyshook %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), code, out.String(), errb.String())
		}
	}
}

// TestNothingToActOnPrintsUsage: a command with nothing to act on prints
// its usage (on stderr, exit 2) and does nothing.
func TestNothingToActOnPrintsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "Usage: qyshook replay"},
		{[]string{"replay", "--dry-run"}, "Usage: qyshook replay"},
		{[]string{"dlq"}, "qyshook dlq retry"},
		{[]string{"dlq", "retry"}, "Usage: qyshook dlq retry"},
		{[]string{"dlq", "purge", "7"}, "-reason"},
		{[]string{"contracts"}, "qyshook contracts list"},
		{[]string{"contracts", "show"}, "Usage: qyshook contracts show"},
		{[]string{"certifications"}, "qyshook certifications list"},
		{[]string{"certifications", "show"}, "Usage: qyshook certifications show"},
		{[]string{"certifications", "list", "--kind", "robot"}, "Usage: qyshook certifications list"},
		{[]string{"bench"}, "receiver|dispatcher|archive"},
	} {
		var out, errb bytes.Buffer
		// No QYSHOOK_ADMIN_URL: were anything sent, it would go to the
		// default address; a usage error comes before any call.
		code := Main(context.Background(), tc.args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		if code != ExitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("qyshook %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), code, out.String(), errb.String())
		}
	}
}

// TestCommandTable: the commands are one explicit table, each listed once
// and shown by help in that order.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	var out bytes.Buffer
	usage(&out)
	last := -1
	for _, c := range commands {
		if seen[c.Name] || c.Run == nil || c.Summary == "" {
			t.Errorf("command %q listed twice or incomplete", c.Name)
		}
		seen[c.Name] = true
		i := strings.Index(out.String(), "  "+c.Name+" ")
		if i < last {
			t.Errorf("help lists %s out of the table's order", c.Name)
		}
		last = i
	}
}
