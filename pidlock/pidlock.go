// Package pidlock holds one process's claim on a store: an exclusive
// advisory lock (flock) on a lock file, kept for the process's lifetime,
// with the holder's pid written into the file so a second process can
// name it. The kernel releases the lock when the holder exits, however it
// exits, so a stale file never blocks a start.
package pidlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HeldError reports a lock held by another process.
type HeldError struct {
	// Path is the lock file.
	Path string
	// PID is the holder's process id (0 when the file does not say).
	PID int
}

func (e *HeldError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("%s is held by %s (one process per store: stop it, or give this one its own data dir)", e.Path, holder)
}

// ErrHeld matches every *HeldError with errors.Is.
var ErrHeld = errors.New("pidlock: held by another process")

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Lock is a held lock. Release frees it.
type Lock struct {
	f    *os.File
	path string
	key  string // set for a Shared lock
}

// shared counts this process's holds of each Shared lock.
var shared = struct {
	sync.Mutex
	locks map[string]*Lock
	refs  map[string]int
}{locks: map[string]*Lock{}, refs: map[string]int{}}

// Shared is Acquire for a store this process may open more than once
// (two connection pools on one SQLite file are safe): it excludes other
// processes only. Each Shared must be matched by a Release.
func Shared(path string) (*Lock, error) {
	key, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	shared.Lock()
	defer shared.Unlock()
	if l := shared.locks[key]; l != nil {
		shared.refs[key]++
		return &Lock{path: path, key: key}, nil
	}
	l, err := Acquire(path)
	if err != nil {
		return nil, err
	}
	shared.locks[key], shared.refs[key] = l, 1
	return &Lock{path: path, key: key}, nil
}

// Acquire takes the lock at path without waiting, creating the file if
// needed, and writes this process's pid into it. When another process
// holds it, the error is a *HeldError naming that process.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		f.Close()
		return nil, &HeldError{Path: path, PID: holder(path)}
	}
	// The pid only names the holder in another process's error; the lock
	// itself is the flock, so a failed write is not fatal.
	if f.Truncate(0) == nil {
		if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err == nil {
			_ = f.Sync()
		}
	}
	return &Lock{f: f, path: path}, nil
}

// holder reads the pid in the lock file, 0 if none. A holder that has
// just taken the lock may not have written it yet: a few short retries.
func holder(path string) int {
	for i := 0; ; i++ {
		b, _ := os.ReadFile(path)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			return pid
		}
		if i == 5 {
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Release frees the lock. The file stays (removing it would race a
// process opening it to wait). Release on nil is a no-op.
func (l *Lock) Release() {
	if l != nil && l.key != "" {
		shared.Lock()
		defer shared.Unlock()
		if shared.refs[l.key]--; shared.refs[l.key] <= 0 {
			shared.locks[l.key].Release()
			delete(shared.locks, l.key)
			delete(shared.refs, l.key)
		}
		l.key = ""
		return
	}
	if l == nil || l.f == nil {
		return
	}
	unlock(l.f)
	_ = l.f.Close()
	l.f = nil
}
