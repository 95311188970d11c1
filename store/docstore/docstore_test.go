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
	"time"

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
	hexSum := hex.EncodeToString(want[:])
	if rel != "documents/sha256/"+hexSum[:2]+"/"+hexSum+".pdf" || sum != hexSum || size != int64(len(data)) {
		t.Fatalf("Put = %q %q %d", rel, sum, size)
	}
	// Put writes the content only: the index entry waits for Link.
	if _, err := os.Lstat(filepath.Join(root, "documents", "default", "c1", "d1.pdf")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("index entry before Link: %v", err)
	}
	if err := s.Link("default", "c1", "d1", ".PDF", rel); err != nil {
		t.Fatal(err)
	}
	// The content path and the readable index entry both read it back.
	for _, p := range []string{rel, "documents/default/c1/d1.pdf"} {
		f, err := s.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		_ = f.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("read back %s: %q", p, got)
		}
	}
	// Replacing the index entry is atomic and leaves no temporary files;
	// the first content file stays.
	rel2, _, _, err := s.Put(context.Background(), "default", "c1", "d1", "pdf", strings.NewReader("v2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "documents", "default", "c1", "d1.pdf")); !bytes.Equal(got, data) {
		t.Errorf("index entry reads %q before Link, want the first content", got)
	}
	if err := s.Link("default", "c1", "d1", "pdf", rel2); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "documents", "default", "c1"))
	if len(entries) != 1 || entries[0].Name() != "d1.pdf" {
		t.Errorf("directory holds %v", entries)
	}
	if tmps, _ := os.ReadDir(filepath.Join(root, "documents", ".tmp")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "documents", "default", "c1", "d1.pdf")); string(got) != "v2" {
		t.Errorf("index entry reads %q, want v2", got)
	}
	if got, _ := os.ReadFile(filepath.Join(root, rel)); !bytes.Equal(got, data) || rel2 == rel {
		t.Errorf("first content file now %q", got)
	}
}

func TestHostileIDs(t *testing.T) {
	root := t.TempDir()
	s := docstore.New(filepath.Join(root, "data"))
	ids := []string{"../../etc/passwd", "a/b", "..", ".", "a\x00b", strings.Repeat("a", 5000), "C:\\x", "/abs", "ünïcode", "a b"}
	seen := map[string]string{}
	for _, id := range ids {
		for _, args := range [][3]string{{id, "c", "d"}, {"t", id, "d"}, {"t", "c", id}} {
			content, _, _, err := s.Put(context.Background(), args[0], args[1], args[2], id, strings.NewReader("x"))
			if err != nil {
				t.Fatalf("Put(%q): %v", args, err)
			}
			if parts := strings.Split(content, "/"); len(parts) != 4 || parts[1] != "sha256" || strings.Contains(content, "..") {
				t.Errorf("Put(%q) = %q", args, content)
			}
			rel, err := docstore.RelPath(args[0], args[1], args[2], id)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Link(args[0], args[1], args[2], id, content); err != nil {
				t.Fatalf("Link(%q): %v", args, err)
			}
			if _, err := os.Lstat(filepath.Join(root, "data", filepath.FromSlash(rel))); err != nil {
				t.Errorf("index entry %s: %v", rel, err)
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
	rel, _, _, err := s.Put(context.Background(), "evil", "c", "d", "pdf", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err) // the content goes under documents/sha256, not the tenant's directory
	}
	if err := s.Link("evil", "c", "d", "pdf", rel); err == nil {
		t.Error("Link followed a symlink out of the root")
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
	var files []string
	_ = filepath.WalkDir(filepath.Join(root, "documents"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if len(files) != 1 {
		t.Errorf("files after an oversized Put: %v, want only the first content file", files)
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
	dir := filepath.Join(root, "documents", ".tmp")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// A writer killed mid-download long ago left a partial file; another
	// writer's file in flight is recent and must stay.
	old := time.Now().Add(-48 * time.Hour)
	for name, mtime := range map[string]time.Time{".tmp-CRASHED": old, ".tmp-INFLIGHT": time.Now()} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
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
	if strings.Join(names, ",") != ".tmp-INFLIGHT" {
		t.Fatalf("temporary directory holds %v", names)
	}
}

// TestTwoWritersOfOneDocument: two archivers of one document (a lease
// that expired under a slow download) each get a path whose file holds
// exactly the hash they were told, whatever order they finish in, so the
// ledger row they record can never disagree with its file.
func TestTwoWritersOfOneDocument(t *testing.T) {
	root := t.TempDir()
	s := docstore.New(root)
	ctx := context.Background()
	relA, sumA, _, err := s.Put(ctx, "default", "c1", "d1", "pdf", strings.NewReader("first download"))
	if err != nil {
		t.Fatal(err)
	}
	relB, sumB, _, err := s.Put(ctx, "default", "c1", "d1", "pdf", strings.NewReader("second download, other bytes"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ rel, sum string }{{relA, sumA}, {relB, sumB}} {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p.rel)))
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != p.sum {
			t.Fatalf("file %s holds %x, its writer recorded %s", p.rel, got, p.sum)
		}
	}
}

// TestLinkNamesOnlyContentFiles: Link points an index entry only at an
// existing content file; anything else is refused and the entry stays.
func TestLinkNamesOnlyContentFiles(t *testing.T) {
	root := t.TempDir()
	s := docstore.New(root)
	rel, sum, _, err := s.Put(context.Background(), "default", "c1", "d1", "pdf", strings.NewReader("kept"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Link("default", "c1", "d1", "pdf", rel); err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("0", 64)
	for _, bad := range []string{"", "documents/default/c1/d1.pdf", "../" + rel, "/" + rel,
		"documents/sha256/ff/" + sum + ".pdf", "documents/sha256/" + sum[:2] + "/" + sum + ".PDF",
		"documents/sha256/" + sum[:2] + "/../" + sum[:2] + "/" + sum + ".pdf"} {
		if err := s.Link("default", "c1", "d1", "pdf", bad); !errors.Is(err, docstore.ErrInvalidPath) {
			t.Errorf("Link(%q) = %v, want ErrInvalidPath", bad, err)
		}
	}
	if err := s.Link("default", "c1", "d1", "pdf", "documents/sha256/00/"+other+".pdf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Link to a missing content file = %v, want fs.ErrNotExist", err)
	}
	if err := s.Link("", "c1", "d1", "pdf", rel); err == nil {
		t.Error("Link without a tenant succeeded")
	}
	if got, _ := os.ReadFile(filepath.Join(root, "documents", "default", "c1", "d1.pdf")); string(got) != "kept" {
		t.Errorf("index entry reads %q after refused links, want kept", got)
	}
}

// TestComponentReadable: the operation log's id ("<contract>.oplog") keeps
// a readable name in the documents folder (issue 21: it was x<hash>);
// dots that could name a parent or a hidden file are still hashed.
func TestComponentReadable(t *testing.T) {
	for id, want := range map[string]string{"2001.oplog": "2001.oplog", "a-b_c.d": "a-b_c.d", "d1": "d1"} {
		if got := docstore.Component(id); got != want {
			t.Errorf("Component(%q) = %q, want %q", id, got, want)
		}
	}
	for _, id := range []string{".", "..", ".hidden", "a..b", "a/b", "a b"} {
		if got := docstore.Component(id); !strings.HasPrefix(got, "x") || len(got) != 65 {
			t.Errorf("Component(%q) = %q, want x<sha256>", id, got)
		}
	}
	rel, err := docstore.RelPath("default", "2001", "2001.oplog", "json")
	if err != nil || rel != "documents/default/2001/2001.oplog.json" {
		t.Errorf("RelPath: %q %v", rel, err)
	}
}
