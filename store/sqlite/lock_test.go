package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/pidlock"
	"github.com/qyshook/qyshook/store"
)

// helperEnv makes the test binary a second process that opens a ledger.
const helperEnv = "QYSHOOK_SQLITE_OPEN_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		var err error
		if os.Getenv(helperEnv+"_MIGRATE") != "" {
			err = MigrateUp(path)
		} else {
			var db *DB
			if db, err = Open(context.Background(), path, Options{}); err == nil {
				db.Close()
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openInProcess opens path for writing from another process and returns
// its stderr and whether it succeeded.
func openInProcess(t *testing.T, path string, migrate bool) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	if migrate {
		cmd.Env = append(cmd.Env, helperEnv+"_MIGRATE=1")
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil
}

// TestOneWriterProcess: a ledger held for writing refuses a writer in
// another process, and its migration, with one line naming the holder's
// pid and the lock path; a read-only open beside the writer works and
// cannot write. After Close the other process opens it.
func TestOneWriterProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	w, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddDeadLetter(ctx, store.DeadLetter{EventID: "ev", Consumer: "c", Subject: "s", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	for _, migrate := range []bool{false, true} {
		out, ok := openInProcess(t, path, migrate)
		if ok {
			w.Close()
			t.Fatalf("migrate=%v: another process opened a ledger held for writing", migrate)
		}
		if strings.Count(out, "\n") != 0 || !strings.Contains(out, LockPath(path)) ||
			!strings.Contains(out, "pid "+strconv.Itoa(os.Getpid())) {
			t.Fatalf("migrate=%v: second process said %q, want one line with the holder's pid and the lock path", migrate, out)
		}
	}
	r, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open while held: %v", err)
	}
	if dls, err := r.DeadLetters(ctx, 10); err != nil || len(dls) != 1 {
		t.Fatalf("read-only list: %v %v", dls, err)
	}
	if _, err := r.AddDeadLetter(ctx, store.DeadLetter{EventID: "ev2", Consumer: "c", Subject: "s", Reason: "r"}); err == nil {
		t.Error("a read-only ledger accepted a write")
	}
	r.Close()
	w.Close()
	if out, ok := openInProcess(t, path, false); !ok {
		t.Fatalf("writer after close: %s", out)
	}
}

// TestOneWriterInProcess: within one process the lock is shared (two
// pools on one file are safe), and released with the last Close.
func TestOneWriterInProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	a, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("second open in one process: %v", err)
	}
	a.Close()
	if _, err := pidlock.Acquire(LockPath(path)); !errors.Is(err, pidlock.ErrHeld) {
		t.Fatalf("lock after the first of two Close: %v, want still held", err)
	}
	b.Close()
	l, err := pidlock.Acquire(LockPath(path))
	if err != nil {
		t.Fatalf("lock after the last Close: %v", err)
	}
	l.Release()
}

// TestReadOnlyMissing: a read-only open of a missing ledger is an error
// naming the path, and creates nothing.
func TestReadOnlyMissing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "ledger.db")
	_, err := Open(context.Background(), path, Options{ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("read-only open of a missing ledger: %v, want an error naming %s", err, path)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("read-only open created %v", ents)
	}
}
