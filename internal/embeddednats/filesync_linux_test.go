package embeddednats

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sys/unix"
)

// delalloc reports whether path has data the kernel has not written back
// yet: on ext4 (and btrfs) freshly written pages wait for write-back with
// their disk blocks unallocated ("delayed allocation"), which FIEMAP
// reports as FIEMAP_EXTENT_DELALLOC until write-back (an fsync, a syncfs,
// the flusher) allocates and writes them. FIEMAP without
// FIEMAP_FLAG_SYNC does not write anything itself.
func delalloc(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const (
		fsIocFiemap      = 0xC020660B
		extentDelalloc   = 0x4
		extents          = 64
		headerSize       = 32
		extentSize       = 56
		extentFlagsField = 40
	)
	buf := make([]byte, headerSize+extents*extentSize)
	*(*uint64)(unsafe.Pointer(&buf[8])) = ^uint64(0) // fm_length: the whole file
	*(*uint32)(unsafe.Pointer(&buf[24])) = extents   // fm_extent_count
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fsIocFiemap, uintptr(unsafe.Pointer(&buf[0]))); e != 0 {
		t.Skipf("FIEMAP on %s: %v", path, e)
	}
	mapped := *(*uint32)(unsafe.Pointer(&buf[20]))
	for i := 0; i < int(mapped) && i < extents; i++ {
		if *(*uint32)(unsafe.Pointer(&buf[headerSize+i*extentSize+extentFlagsField]))&extentDelalloc != 0 {
			return true
		}
	}
	return false
}

// dirtyFile writes a new file of n bytes at path and skips the test
// unless the file system shows it as not written back yet (delalloc),
// which the tests below use to see whether a flush wrote it.
func dirtyFile(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Repeat([]byte("n"), n), 0o600); err != nil {
		t.Fatal(err)
	}
	if !delalloc(t, path) {
		t.Skipf("%s shows no delayed allocation here: cannot tell a flushed file from a dirty one", path)
	}
}

// TestGroupedSyncLeavesNeighboursAlone: the grouped sync writes the
// store's files and not another program's file on the same file system
// (PostgreSQL's, say), which syncfs did: with the ledger in a PostgreSQL
// on the store's disk every group also flushed the database's dirty
// pages. The syncfs subtest (QYSHOOK_NATS_SYNC=grouped-syncfs) shows the
// check sees a flushed neighbour.
func TestGroupedSyncLeavesNeighboursAlone(t *testing.T) {
	for _, c := range []struct {
		name    string
		o       Options
		mode    string
		flushed bool
	}{
		{"files", Options{}, ModeGrouped, false},
		{"syncfs", Options{SyncInterval: SyncGroupedFS}, ModeGroupedSyncfs, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if r := groupSyncCheck(dir); r != "" {
				t.Skip("not grouped here: " + r)
			}
			c.o.StoreDir = filepath.Join(dir, "store")
			s, err := Start(c.o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown()
			if s.SyncMode() != c.mode {
				t.Fatalf("mode %q, want %q (%s)", s.SyncMode(), c.mode, s.filesFailed)
			}
			js := jsOf(t, s)
			ctx := context.Background()
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "N", Subjects: []string{"n.>"}, Storage: jetstream.FileStorage}); err != nil {
				t.Fatal(err)
			}
			// Write-back started by anything else on the machine (another
			// process's sync(2) or fsync of a large file, the flusher over
			// its dirty threshold) writes the neighbour back as well: a
			// flushed neighbour counts only if it is flushed in every one
			// of several short attempts.
			const attempts = 10
			flushedEvery := true
			for a := 0; a < attempts && flushedEvery; a++ {
				neighbour := filepath.Join(dir, fmt.Sprintf("neighbour-%d", a))
				dirtyFile(t, neighbour, 1<<20)
				for i := 0; i < 3; i++ {
					if _, err := js.Publish(ctx, "n.x", bytes.Repeat([]byte("m"), 2000)); err != nil {
						t.Fatal(err)
					}
					if err := s.Syncer().Sync(ctx); err != nil {
						t.Fatal(err)
					}
				}
				for _, b := range blockFiles(t, c.o.StoreDir, "N") {
					if delalloc(t, b) {
						t.Fatalf("%s not written back after Sync", b)
					}
				}
				flushedEvery = !delalloc(t, neighbour)
				if c.flushed {
					break // syncfs: once is enough
				}
			}
			if flushedEvery != c.flushed {
				t.Fatalf("neighbour written back by the store's syncs: %v, want %v (stats %+v)", flushedEvery, c.flushed, s.Syncer().Stats())
			}
		})
	}
}

// TestGroupedSyncCoversNewBlocks: messages written to block files that
// did not exist at the previous flush (the stream's block rolled over)
// are written back by the next Sync, every time. A flush that synced
// only the files it already knew, or nothing, fails here.
func TestGroupedSyncCoversNewBlocks(t *testing.T) {
	dir := t.TempDir()
	if r := groupSyncCheck(dir); r != "" {
		t.Skip("not grouped here: " + r)
	}
	s, err := Start(Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if s.SyncMode() != ModeGrouped {
		t.Skipf("mode %s: %s", s.SyncMode(), s.filesFailed)
	}
	probe := filepath.Join(dir, "probe")
	dirtyFile(t, probe, 4096) // skips where write-back cannot be seen
	js := jsOf(t, s)
	ctx := context.Background()
	// MaxBytes 96 kB: 32 kB blocks (nats-server's smallest), a new one
	// every few messages, old ones removed.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"},
		Storage: jetstream.FileStorage, MaxBytes: 96_000}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 60; i++ {
		if _, err := js.Publish(ctx, "b.x", bytes.Repeat([]byte{byte('a' + i%26)}, 7000)); err != nil {
			t.Fatal(err)
		}
		if err := s.Syncer().Sync(ctx); err != nil {
			t.Fatal(err)
		}
		for _, b := range blockFiles(t, dir, "B") {
			seen[b] = true
			if delalloc(t, b) {
				t.Fatalf("message %d: %s not written back after Sync", i, b)
			}
		}
	}
	if len(seen) < 5 {
		t.Fatalf("only %d block files over the run: the block did not roll over", len(seen))
	}
	st := s.Syncer().Stats()
	if st.Syncfs != 0 || st.Files == 0 || st.Dirs == 0 || st.FullPasses != 1 {
		t.Fatalf("stats %+v: want files and directories synced, one full pass (the first), no syncfs", st)
	}
	files, dirs := st.Files, st.Dirs
	t.Logf("%d block files; %d file and %d directory syncs in %d groups", len(seen), files, dirs, s.Syncer().Stats().Rounds)
}

// TestFileSyncFollowsReplacedFiles: the flush covers what nats-server
// does besides appending: a file replaced by renaming a new one over it
// (index.db, metadata, a compacted block) after its old inode's
// descriptor was cached, a directory created with files already in it
// (a new stream or consumer) before its watch existed, and a directory
// renamed (a purge) with files written in it afterwards.
func TestFileSyncFollowsReplacedFiles(t *testing.T) {
	root := t.TempDir()
	dirtyFile(t, filepath.Join(root, "probe"), 4096)
	f, err := newFileSync(root)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	mustFlush := func() {
		t.Helper()
		if err := f.flush(); err != nil {
			t.Fatal(err)
		}
	}
	mustFlush()
	clean := func(paths ...string) {
		t.Helper()
		mustFlush()
		for _, p := range paths {
			if delalloc(t, p) {
				t.Fatalf("%s not written back by the flush", p)
			}
		}
	}
	// Appends to a file whose descriptor is then cached.
	blk := filepath.Join(root, "1.blk")
	dirtyFile(t, blk, 8192)
	clean(blk)
	if _, ok := f.fds[blk]; !ok {
		t.Fatal("descriptor not cached")
	}
	// Replaced by rename: the cached descriptor is the old inode's.
	dirtyFile(t, blk+".tmp", 8192)
	if err := os.Rename(blk+".tmp", blk); err != nil {
		t.Fatal(err)
	}
	clean(blk)
	appendTo(t, blk, 8192)
	clean(blk)
	// A directory tree made between two flushes, files written in it
	// before the flush has seen the directory.
	deep := filepath.Join(root, "streams", "S", "msgs")
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	dirtyFile(t, filepath.Join(deep, "1.blk"), 8192)
	clean(filepath.Join(deep, "1.blk"))
	dirtyFile(t, filepath.Join(deep, "2.blk"), 8192) // now through the new watch
	clean(filepath.Join(deep, "2.blk"))
	// The directory renamed (purge), then written in at its new name.
	moved := filepath.Join(root, "streams", "S", "msgs.new")
	if err := os.Rename(deep, moved); err != nil {
		t.Fatal(err)
	}
	appendTo(t, filepath.Join(moved, "2.blk"), 8192)
	dirtyFile(t, filepath.Join(moved, "3.blk"), 8192)
	clean(filepath.Join(moved, "2.blk"), filepath.Join(moved, "3.blk"))
	dirtyFile(t, filepath.Join(moved, "4.blk"), 8192)
	clean(filepath.Join(moved, "4.blk"))
	if _, _, _, syncfs := f.stats(); syncfs != 0 {
		t.Fatalf("%d syncfs", syncfs)
	}
	// Removed files and directories need nothing but their parent.
	if err := os.RemoveAll(filepath.Join(root, "streams")); err != nil {
		t.Fatal(err)
	}
	mustFlush()
	for p := range f.fds {
		if strings.HasPrefix(p, filepath.Join(root, "streams")) {
			t.Fatalf("descriptor of removed %s kept", p)
		}
	}
}

func appendTo(t *testing.T, path string, n int) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(bytes.Repeat([]byte("a"), n)); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func jsOf(t *testing.T, s *Server) jetstream.JetStream {
	t.Helper()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func blockFiles(t *testing.T, storeDir, stream string) []string {
	t.Helper()
	blocks, err := filepath.Glob(filepath.Join(storeDir, "jetstream", "*", "streams", stream, "msgs", "*.blk"))
	if err != nil || len(blocks) == 0 {
		t.Fatalf("no block files of %s: %v", stream, err)
	}
	return blocks
}

// BenchmarkStoreFlush: one flush after appending 1 KiB to each of
// -files files under the store (as a group covers the callbacks' block,
// the ledger's block and consumer state), by the store's own files and
// by syncfs.
func BenchmarkStoreFlush(b *testing.B) {
	for _, mode := range []string{"files", "syncfs"} {
		for _, n := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/files=%d", mode, n), func(b *testing.B) {
				root := b.TempDir()
				var flush, closeFlush func() error
				var err error
				if mode == "files" {
					flush, closeFlush, _, err = storeFilesFlush(root)
				} else {
					flush, closeFlush, err = storeFlush(root)
				}
				if err != nil {
					b.Fatal(err)
				}
				defer closeFlush()
				fhs := make([]*os.File, n)
				for i := range fhs {
					if fhs[i], err = os.Create(filepath.Join(root, fmt.Sprintf("%d.blk", i))); err != nil {
						b.Fatal(err)
					}
					defer fhs[i].Close()
				}
				rec := bytes.Repeat([]byte("r"), 1024)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for _, fh := range fhs {
						if _, err := fh.Write(rec); err != nil {
							b.Fatal(err)
						}
					}
					if err := flush(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
