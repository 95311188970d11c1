package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/qys"
)

// TestFlags: -h, --help and --version answer on stdout without starting
// (no configuration, no data dir); an unknown flag is one line, exit 2.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		stdout   string
		stderrOK func(string) bool
	}{
		{[]string{"-h"}, 0, "QYSHOOK_SHUTDOWN_TIMEOUT", nil},
		{[]string{"-h"}, 0, "QYSHOOK_API_RATE", nil},
		{[]string{"-h"}, 0, "QYSHOOK_API_INFLIGHT", nil},
		{[]string{"--help"}, 0, "QYSHOOK_NATS_SYNC", nil},
		{[]string{"--version"}, 0, "dispatcher " + qys.Version + "\n", nil},
		{[]string{"--bogus"}, 2, "", func(s string) bool {
			return strings.Count(s, "\n") == 1 && strings.Contains(s, `unknown flag "--bogus"`)
		}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			cmd := runMainArgs(t, tc.args, "QYSHOOK_DATA_DIR="+dir+"/data", "QYSHOOK_HTTP_ADDR=127.0.0.1:0")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) {
				t.Fatalf("exit %d stdout %q stderr %q; want exit %d and %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout)
			}
			if tc.stderrOK != nil && !tc.stderrOK(stderr.String()) {
				t.Fatalf("stderr %q", stderr.String())
			}
			if tc.stderrOK == nil && stderr.Len() != 0 {
				t.Fatalf("stderr %q, want nothing", stderr.String())
			}
		})
	}
}
