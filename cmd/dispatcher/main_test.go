package main

import (
	"os"
	"os/exec"
	"testing"
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

// runMainArgs runs main as a process with the command-line args.
func runMainArgs(t *testing.T, args []string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append([]string{"QYSHOOK_TEST_RUN_MAIN=1", "PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}
