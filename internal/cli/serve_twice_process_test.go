package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/qyshook/qyshook/store/ledgerdb"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// serveProc is a `qyshook serve` process of a test.
type serveProc struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	base string
	// admin is the admin API's URL (token serveAdminToken).
	admin string
	done  chan error
}

// serveAdminToken is the operator token of the test's serve processes.
const serveAdminToken = "operator-token-0123456789"

// startServe starts `qyshook serve` on dir/data; it does not wait for it.
func startServe(t *testing.T, bin, dir, secret string, args ...string) *serveProc {
	t.Helper()
	addr, adminAddr := freePort(t), freePort(t)
	cmd := exec.Command(bin, append([]string{"serve", "-addr", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "QYSHOOK_CALLBACK_SECRET=" + secret,
		"QYSHOOK_DATA_DIR=" + filepath.Join(dir, "data"), "QYSHOOK_RECONCILE_INTERVAL=0",
		"QYSHOOK_ADMIN_ADDR=" + adminAddr, "QYSHOOK_ADMIN_TOKEN=" + serveAdminToken}
	p := &serveProc{cmd: cmd, logs: &lockedBuffer{}, base: "http://" + addr, admin: "http://" + adminAddr, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// ready waits for /readyz; it fails if the process exits first.
func (p *serveProc) ready(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("serve exited (%v); logs:\n%s", err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready; logs:\n%s", p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exited waits for the process to end and returns its exit code.
func (p *serveProc) exited(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatalf("serve still running; logs:\n%s", p.logs.String())
		return -1
	}
}

func postContract(t *testing.T, base, secret, id string) (int, string) {
	t.Helper()
	out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: secret, Encrypt: true},
		fmt.Appendf(nil, `{"contractId":"%s","callbackType":"COMPLETE","contractStatus":"COMPLETE"}`, id), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/callbacks/default/contract", out.ContentType, bytes.NewReader(out.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeTwiceOneDataDir: a second `qyshook serve` on a data dir in use
// (the whole service, then the receiver alone, which opens no ledger)
// stops with one line naming the first process's pid and the lock it
// holds; the first keeps serving, and every callback it answered
// "success" is in the ledger after it stops.
func TestServeTwiceOneDataDir(t *testing.T) {
	bin := QyshookBinary(t)
	dir := t.TempDir()
	const secret = "0123456789abcdef"
	first := startServe(t, bin, dir, secret)
	first.ready(t)
	if code, body := postContract(t, first.base, secret, "101"); code != 200 || body != "success" {
		t.Fatalf("callback: %d %q", code, body)
	}
	pid := "pid " + strconv.Itoa(first.cmd.Process.Pid)
	for _, tc := range []struct {
		args []string
		lock string
	}{
		{nil, filepath.Join(dir, "data", "ledger.db.lock")},
		{[]string{"-receiver-only"}, filepath.Join(dir, "data", "nats", "qyshook.lock")},
	} {
		second := startServe(t, bin, dir, secret, tc.args...)
		code := second.exited(t)
		out := strings.TrimRight(second.logs.String(), "\n")
		if code == 0 || strings.Contains(out, "\n") || !strings.Contains(out, pid) || !strings.Contains(out, tc.lock) {
			t.Fatalf("second serve %v: exit %d, output:\n%s\nwant a non-zero exit and one line naming %q and %s",
				tc.args, code, out, pid, tc.lock)
		}
	}
	if code, body := postContract(t, first.base, secret, "102"); code != 200 || body != "success" {
		t.Fatalf("callback after the second start: %d %q", code, body)
	}
	// Operator commands run beside the service, through its admin API.
	show := func(id string) (int, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{"contracts", "show", id, "--json"}, &Env{Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string {
				return map[string]string{"QYSHOOK_ADMIN_URL": first.admin, "QYSHOOK_ADMIN_TOKEN": serveAdminToken}[k]
			}})
		return code, out.String() + errb.String()
	}
	for _, id := range []string{"101", "102"} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			code, out := show(id)
			if code == ExitOK && strings.Contains(out, `"COMPLETE"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("contracts show %s beside serve: exit %d\n%s", id, code, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	_ = first.cmd.Process.Signal(syscall.SIGTERM)
	if code := first.exited(t); code != 0 {
		t.Fatalf("first serve exit %d; logs:\n%s", code, first.logs.String())
	}
	l, err := ledgerdb.OpenReadOnly(context.Background(), "", filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, id := range []string{"101", "102"} {
		if c, err := l.Contract(context.Background(), "default", id); err != nil || c.Status != "COMPLETE" {
			t.Fatalf("contract %s after stop: %+v, %v", id, c, err)
		}
	}
}
