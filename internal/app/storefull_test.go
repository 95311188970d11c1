package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
)

// helperEnv makes the test binary run as a receiver on embedded NATS
// (helperServe) instead of running tests: a child process whose file
// size limit a test can set without touching its own.
const helperEnv = "QYSHOOK_APP_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "serve" {
		os.Exit(helperServe())
	}
	os.Exit(m.Run())
}

// helperServe runs app.Run with the receiver role on embedded NATS from
// the QYSHOOK_ environment, prints "addr <host:port>" on stdout once it
// serves, logs JSON on stderr, and stops on SIGTERM.
func helperServe() int {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := zerolog.New(os.Stderr).With().Timestamp().Logger()
	err = app.Run(ctx, cfg, log, app.Roles{Receiver: true}, app.RunOptions{OnReady: func(addr string) {
		fmt.Printf("addr %s\n", addr)
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestEmbeddedStoreRecoversWithoutRestart (README "Fault drills", known
// defect of one machine): a receiver on embedded NATS whose data disk
// fills (RLIMIT_FSIZE 0 on its process: every file write fails with
// EFBIG) answers callbacks 503, and /readyz must say so
// (nats_store_failed). Once the disk takes writes again the same process,
// not restarted, stores callbacks again and /readyz is ready. Before the
// fix nats-server kept the write error for the life of the process:
// /readyz stayed ready and every callback was answered 503.
func TestEmbeddedStoreRecoversWithoutRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=serve",
		"QYSHOOK_HTTP_ADDR=127.0.0.1:0", "QYSHOOK_DATA_DIR="+dir, "QYSHOOK_CALLBACK_SECRET="+secret,
		"QYSHOOK_PUBLISH_TIMEOUT=1s", "QYSHOOK_ADMIN_ADDR=off", "QYSHOOK_NATS_URL=", "QYSHOOK_CONFIG=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer // a pipe: the file size limit does not apply to it
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
				addrc <- a
			}
		}
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("child did not start\n%s", logs.String())
	}

	n := 0
	post := func() int {
		n++
		out := callback(t, fmt.Sprintf("full-disk-%d", n))
		resp, err := http.Post(base+"/callbacks/default/contract", out.ContentType, bytes.NewReader(out.Body))
		if err != nil {
			t.Fatalf("callback: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(); st != http.StatusOK {
		t.Fatalf("before the fault: callback answered %d", st)
	}
	if st, reason := readyz(t, base); st != http.StatusOK {
		t.Fatalf("before the fault: /readyz %d %s", st, reason)
	}

	if err := prlimitFsize(cmd.Process.Pid, 0); err != nil {
		t.Fatal(err)
	}
	if st := post(); st != http.StatusServiceUnavailable {
		t.Fatalf("disk full: callback answered %d, want 503", st)
	}
	waitFor(t, "/readyz to report nats_store_failed while the disk is full", &logs, func() bool {
		st, reason := readyz(t, base)
		return st == http.StatusServiceUnavailable && reason == "nats_store_failed"
	})
	if st := post(); st != http.StatusServiceUnavailable {
		t.Fatalf("disk still full: callback answered %d, want 503", st)
	}

	if err := prlimitFsize(cmd.Process.Pid, -1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "callbacks stored again after the disk was freed", &logs, func() bool { return post() == http.StatusOK })
	waitFor(t, "/readyz ready again", &logs, func() bool { st, _ := readyz(t, base); return st == http.StatusOK })
	if cmd.ProcessState != nil {
		t.Fatalf("the child exited: %v", cmd.ProcessState)
	}
	if !strings.Contains(logs.String(), "restarting the embedded server in-process") {
		t.Errorf("no in-process restart logged:\n%s", logs.String())
	}
}

func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Reason
}

// waitFor polls cond until it holds, failing after two minutes (a bound,
// not a measurement).
func waitFor(t *testing.T, what string, logs *lockedBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up\n%s", what, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// prlimitFsize sets RLIMIT_FSIZE of another process; limit < 0 lifts it.
func prlimitFsize(pid int, limit int64) error {
	lim := syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if limit >= 0 {
		lim.Cur = uint64(limit)
	}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("prlimit(%d, RLIMIT_FSIZE): %w", pid, errno)
	}
	return nil
}
