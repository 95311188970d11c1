package cli

import (
	"bytes"
	"context"
	"github.com/qyshook/qyshook/store/ledgerdb"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// lockedBuffer collects a process's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeProcess runs `qyshook serve` as a real process on embedded
// defaults: it becomes ready, stores a signed callback, refuses a forged
// one, and stops cleanly on SIGTERM. A second start finds its data again.
func TestServeProcess(t *testing.T) {
	bin := QyshookBinary(t)
	dir := t.TempDir()
	const secret = "0123456789abcdef"
	start := func() (*exec.Cmd, *lockedBuffer, string) {
		addr := freePort(t)
		cmd := exec.Command(bin, "serve", "-addr", addr)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "QYSHOOK_CALLBACK_SECRET=" + secret,
			"QYSHOOK_DATA_DIR=" + filepath.Join(dir, "data"), "QYSHOOK_RECONCILE_INTERVAL=0"}
		var logs lockedBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_, _ = cmd.Process.Wait()
			}
		})
		base := "http://" + addr
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get(base + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("serve not ready; logs:\n%s", logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		return cmd, &logs, base
	}
	post := func(base string, sec string) (int, string) {
		out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: sec, Encrypt: true},
			[]byte(`{"contractId":"42","callbackType":"COMPLETE","contractStatus":"COMPLETE","tenantName":"张三","contact":"13800000000"}`), time.Now())
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
	stop := func(cmd *exec.Cmd, logs *lockedBuffer) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve exited with %v; logs:\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop on SIGTERM")
		}
	}

	cmd, logs, base := start()
	if code, body := post(base, secret); code != 200 || body != "success" {
		t.Fatalf("signed callback: %d %q", code, body)
	}
	if code, _ := post(base, "fedcba9876543210"); code != 401 {
		t.Fatalf("forged callback: %d, want 401", code)
	}
	stop(cmd, logs)
	for _, personal := range []string{"13800000000", "张三", secret} {
		if strings.Contains(logs.String(), personal) {
			t.Fatalf("the logs contain personal data or the secret %q", personal)
		}
	}

	// The ledger and the stream survive a restart: the unconfirmed contract
	// (no API credentials) is there, and the same callback is a duplicate.
	cmd, logs, base = start()
	if code, body := post(base, secret); code != 200 || body != "success" {
		t.Fatalf("repeated callback after restart: %d %q", code, body)
	}
	stop(cmd, logs)
	l, err := ledgerdb.OpenReadOnly(context.Background(), "", filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if c, err := l.Contract(context.Background(), "default", "42"); err != nil || c.Status != "COMPLETE" {
		t.Fatalf("contract 42 after restart: %+v, %v", c, err)
	}
}
