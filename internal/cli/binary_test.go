package cli

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	qyshookBinOnce sync.Once
	qyshookBinPath string
	qyshookBinErr  error
)

// QyshookBinary builds cmd/qyshook once per test binary. It goes to a fixed
// path under the temp dir, replaced atomically, so runs do not pile up
// copies and a running copy is never overwritten.
func QyshookBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	qyshookBinOnce.Do(func() {
		// One directory per checkout: worktrees testing at once must not
		// run each other's build.
		wd, _ := os.Getwd()
		dir := filepath.Join(os.TempDir(), "qyshook-cli-test", fmt.Sprintf("%x", sha256.Sum256([]byte(wd)))[:12])
		if qyshookBinErr = os.MkdirAll(dir, 0o700); qyshookBinErr != nil {
			return
		}
		tmp, err := os.CreateTemp(dir, "build-*")
		if err != nil {
			qyshookBinErr = err
			return
		}
		tmp.Close()
		cmd := exec.Command(goBin, "build", "-o", tmp.Name(), "github.com/qyshook/qyshook/cmd/qyshook")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp.Name())
			qyshookBinErr = fmt.Errorf("%w\n%s", err, out)
			return
		}
		qyshookBinPath = filepath.Join(dir, "qyshook")
		qyshookBinErr = os.Rename(tmp.Name(), qyshookBinPath)
	})
	if qyshookBinErr != nil {
		t.Fatalf("go build: %v", qyshookBinErr)
	}
	return qyshookBinPath
}
