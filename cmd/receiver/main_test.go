package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary run main() as a subprocess.
func TestMain(m *testing.M) {
	if os.Getenv("QYSHOOK_TEST_RUN_MAIN") == "1" {
		os.Args = mainArgs(os.Args)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainArgs drops the test flags: main sees the arguments after "--".
func mainArgs(args []string) []string {
	for i, a := range args {
		if a == "--" {
			return append([]string{args[0]}, args[i+1:]...)
		}
	}
	return args[:1]
}

func runMain(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	return runMainArgs(t, nil, env...)
}

// runMainArgs runs main as a process with the command-line args.
func runMainArgs(t *testing.T, args []string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append([]string{"QYSHOOK_TEST_RUN_MAIN=1", "PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}

func TestBadConfigStopsStartup(t *testing.T) {
	cmd := runMain(t, "QYSHOOK_CALLBACK_SECRET=short")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 2 {
		t.Fatalf("exit = %v, want code 2", err)
	}
	if !strings.Contains(stderr.String(), "QYSHOOK_CALLBACK_SECRET: secret #1 must be 16 characters (got 5)") {
		t.Fatalf("stderr = %q", stderr.String())
	}
}

func TestStartsAndStopsOnSIGTERM(t *testing.T) {
	cmd := runMain(t, "QYSHOOK_CALLBACK_SECRET=0123456789abcdef", "QYSHOOK_HTTP_ADDR=127.0.0.1:0",
		"QYSHOOK_DATA_DIR="+t.TempDir())
	var stdout syncWriter
	cmd.Stderr = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "http listening") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("not listening; output %q", stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; output %q", err, stdout.String())
	}
	if strings.Contains(stdout.String(), "0123456789abcdef") {
		t.Fatal("secret in the logs")
	}
}
