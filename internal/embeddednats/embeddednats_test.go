package embeddednats

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/pidlock"
)

// TestOneServerPerStore: a second server on a store in use refuses to
// start, naming the holder's pid and the lock path; once the first shuts
// down the store can be opened again.
func TestOneServerPerStore(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Start(Options{StoreDir: dir})
	if err == nil {
		second.Shutdown()
		first.Shutdown()
		t.Fatal("a second embedded server started on a store in use")
	}
	if !errors.Is(err, pidlock.ErrHeld) || !strings.Contains(err.Error(), filepath.Join(dir, LockFile)) ||
		!strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("error %q: want the holder's pid and the lock path", err)
	}
	first.Shutdown()
	again, err := Start(Options{StoreDir: dir})
	if err != nil {
		t.Fatalf("start after shutdown: %v", err)
	}
	again.Shutdown()
}

// TestSync: every write is synced unless an interval is set.
func TestSync(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !s.SyncAlways() {
		t.Error("default: writes are not synced before acknowledgement")
	}
	s.Shutdown()
	s, err = Start(Options{StoreDir: t.TempDir(), SyncInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if s.SyncAlways() {
		t.Error("SyncInterval set: still syncing every write")
	}
	s.Shutdown()
}
