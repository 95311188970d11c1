package docstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/store/docstore"
)

func TestPutOpen(t *testing.T) {
	root := t.TempDir()
	s := docstore.New(root)
	data := []byte("%PDF-1.7 signed")
	rel, sum, size, err := s.Put(context.Background(), "default", "c1", "d1", ".PDF", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if rel != "documents/default/c1/d1.pdf" || sum != hex.EncodeToString(want[:]) || size != int64(len(data)) {
		t.Fatalf("Put = %q %q %d", rel, sum, size)
	}
	f, err := s.Open(rel)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	_ = f.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %q", got)
	}
	// Replacing is atomic and leaves no temporary files.
	if _, _, _, err := s.Put(context.Background(), "default", "c1", "d1", "pdf", strings.NewReader("v2")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "documents", "default", "c1"))
	if len(entries) != 1 || entries[0].Name() != "d1.pdf" {
		t.Errorf("directory holds %v", entries)
	}
}

func TestHostileIDs(t *testing.T) {
	root := t.TempDir()
	s := docstore.New(filepath.Join(root, "data"))
	ids := []string{"../../etc/passwd", "a/b", "..", ".", "a\x00b", strings.Repeat("a", 5000), "C:\\x", "/abs", "ünïcode", "a b"}
	seen := map[string]string{}
	for _, id := range ids {
		for _, args := range [][3]string{{id, "c", "d"}, {"t", id, "d"}, {"t", "c", id}} {
			rel, _, _, err := s.Put(context.Background(), args[0], args[1], args[2], id, strings.NewReader("x"))
			if err != nil {
				t.Fatalf("Put(%q): %v", args, err)
			}
			parts := strings.Split(rel, "/")
			if len(parts) != 4 || parts[0] != "documents" || strings.Contains(rel, "..") || len(rel) > 300 {
				t.Errorf("Put(%q) = %q", args, rel)
			}
			if prev, ok := seen[rel]; ok && prev != strings.Join(args[:], "|") {
				t.Errorf("%q and %q share %q", prev, args, rel)
			}
			seen[rel] = strings.Join(args[:], "|")
		}
	}
	var outside []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if !strings.HasPrefix(p, filepath.Join(root, "data")) && p != root {
			outside = append(outside, p)
		}
		return nil
	})
	if len(outside) > 0 {
		t.Errorf("files outside the root: %v", outside)
	}
	for _, bad := range [][3]string{{"", "c", "d"}, {"t", "", "d"}, {"t", "c", ""}} {
		if _, _, _, err := s.Put(context.Background(), bad[0], bad[1], bad[2], "pdf", strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) accepted an empty id", bad)
		}
	}
	for _, p := range []string{"../x", "/etc/passwd", "documents/../../x", "documents", "other/x.pdf", "", "documents/a\\..\\b"} {
		if _, err := s.Open(p); !errors.Is(err, docstore.ErrInvalidPath) {
			t.Errorf("Open(%q) = %v, want ErrInvalidPath", p, err)
		}
	}
	if _, err := s.Open("documents/t/c/missing.pdf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}
}

func TestSymlinkEscape(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "documents"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "documents", "evil")); err != nil {
		t.Skip("no symlinks:", err)
	}
	s := docstore.New(root)
	if _, _, _, err := s.Put(context.Background(), "evil", "c", "d", "pdf", strings.NewReader("x")); err == nil {
		t.Error("Put followed a symlink out of the root")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("wrote outside the root: %v", entries)
	}
}

func TestMaxSize(t *testing.T) {
	root := t.TempDir()
	s := docstore.New(root, docstore.WithMaxSize(10))
	if _, _, _, err := s.Put(context.Background(), "t", "c", "d", "pdf", strings.NewReader("0123456789")); err != nil {
		t.Fatalf("exactly MaxSize: %v", err)
	}
	_, _, _, err := s.Put(context.Background(), "t", "c", "e", "pdf", strings.NewReader("0123456789A"))
	if !errors.Is(err, docstore.ErrTooLarge) {
		t.Fatalf("over MaxSize: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "documents", "t", "c"))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := docstore.New(t.TempDir())
	if _, _, _, err := s.Put(ctx, "t", "c", "d", "pdf", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put on cancelled ctx = %v", err)
	}
}

// pattern is an endless generated stream.
type pattern struct{ n byte }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = p.n
		p.n++
	}
	return len(b), nil
}

// TestLargeStreamFlatMemory puts 64 MiB and checks the allocations stay
// far below the size of the stream.
func TestLargeStreamFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const size = 64 << 20
	s := docstore.New(t.TempDir())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, n, err := s.Put(context.Background(), "t", "c", "big", "pdf", io.LimitReader(&pattern{}, size))
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("Put = %d, %v", n, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("64 MiB stream: %d KiB allocated in total", alloc>>10)
	if alloc > 4<<20 {
		t.Errorf("allocated %d bytes for a %d byte stream: not streaming", alloc, size)
	}
}

func BenchmarkPut(b *testing.B) {
	s := docstore.New(b.TempDir())
	b.SetBytes(8 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := s.Put(context.Background(), "t", "c", "d", "pdf", io.LimitReader(&pattern{}, 8<<20)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCrashLeftoversRemoved(t *testing.T) {
	root := t.TempDir()
	s := docstore.New(root)
	dir := filepath.Join(root, "documents", "default", "c1")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// A writer killed mid-download left a partial file for d1, and one for
	// another document that must stay until that document is written.
	for _, name := range []string{".tmp-d1.pdf-CRASHED", ".tmp-d2.pdf-OTHER"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := s.Put(context.Background(), "default", "c1", "d1", "pdf", strings.NewReader("whole")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != ".tmp-d2.pdf-OTHER,d1.pdf" {
		t.Fatalf("directory holds %v", names)
	}
}
