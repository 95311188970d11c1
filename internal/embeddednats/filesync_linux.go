package embeddednats

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fileSync is the grouped sync's flush by default: it makes durable
// exactly what was written under the store directory since the previous
// flush, and nothing else on the file system (syncfs(2) would also flush
// every other program's dirty files, a PostgreSQL's on the same disk
// among them).
//
// It learns what was written from inotify: a watch on every directory
// of the store reports each write (IN_MODIFY), each file or directory
// created, renamed in or out, and removed. The kernel queues the event
// in the write(2) call itself, before it returns, so a write that
// nats-server made before its PubAck is queued before the publisher
// calls Sync, and the flush, which starts after that call, reads it.
// Each flush drains the queue and then
//   - fdatasyncs every file written, created or renamed into place since
//     the previous flush (message blocks, index.db, consumer state,
//     stream and consumer metadata: whatever nats-server wrote), through
//     a cached descriptor;
//   - fsyncs every directory an entry was created in, renamed into or
//     out of, or removed from (a new block file's name, a replaced
//     file's new inode);
//   - on a new directory (a stream or consumer created), watches it and
//     everything under it and syncs all of it, since nats-server may have
//     written there before the watch existed.
//
// When the kernel's queue overflowed (IN_Q_OVERFLOW: more distinct
// events than fs.inotify.max_queued_events between two drains), the
// flush syncs every file and directory of the store. When a directory
// cannot be watched (fs.inotify.max_user_watches reached), every flush
// from then on is a syncfs of the file system, as GroupSync did before:
// correct, only not neighbourly, and counted (syncfsFallback).
type fileSync struct {
	root string

	mu       sync.Mutex
	ifd      int              // inotify descriptor, non-blocking
	sfd      int              // the root directory, for the syncfs fallback
	wds      map[int32]string // watch → directory path
	fds      map[string]int   // cached descriptors of files synced before
	files    map[string]bool  // files to sync at the next flush
	dirs     map[string]bool  // directories to sync at the next flush
	full     bool             // sync everything at the next flush
	syncfs   bool             // a directory could not be watched: syncfs from now on
	replaced bool             // a file was created or renamed into place since the flag was cleared
	buf      []byte           // inotify read buffer
	closed   bool

	filesSynced, dirsSynced, fulls, syncfsFallback atomic.Uint64
}

const watchMask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM |
	unix.IN_MOVED_TO | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK

// maxCachedFiles bounds the descriptors kept open between flushes.
const maxCachedFiles = 512

// newFileSync watches every directory under root (which must exist).
// The first flush syncs everything, as a syncfs would have.
func newFileSync(root string) (*fileSync, error) {
	ifd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("embeddednats: inotify: %w", err)
	}
	sfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Close(ifd)
		return nil, fmt.Errorf("embeddednats: open store dir for sync: %w", err)
	}
	f := &fileSync{root: root, ifd: ifd, sfd: sfd, wds: map[int32]string{}, fds: map[string]int{},
		files: map[string]bool{}, dirs: map[string]bool{}, full: true, buf: make([]byte, 64<<10)}
	if err := f.watchTree(root); err != nil {
		_ = f.close()
		return nil, err
	}
	return f, nil
}

// watchTree watches dir and every directory under it, and marks all of
// it to be synced.
func (f *fileSync) watchTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			if d.Type().IsRegular() {
				f.files[path] = true
			}
			return nil
		}
		wd, err := unix.InotifyAddWatch(f.ifd, path, watchMask)
		switch {
		case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
			return fs.SkipDir
		case err != nil:
			return fmt.Errorf("embeddednats: watch %s: %w", path, err)
		}
		f.wds[int32(wd)] = path
		f.dirs[path] = true
		return nil
	})
}

// flush makes every write under root made before the call durable.
func (f *fileSync) flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("embeddednats: file sync closed")
	}
	if err := f.drain(); err != nil {
		return err
	}
	if f.full && !f.syncfs {
		f.fulls.Add(1)
		f.closeFiles()
		f.files, f.dirs, f.full = map[string]bool{}, map[string]bool{}, false
		if err := f.watchTree(f.root); err != nil {
			f.syncfs = true // a directory it cannot watch: syncfs from now on
		}
	}
	if f.syncfs {
		f.syncfsFallback.Add(1)
		f.files, f.dirs, f.full = map[string]bool{}, map[string]bool{}, false
		return retryEINTR(func() error { return unix.Syncfs(f.sfd) })
	}
	if err := f.syncAll(); err != nil {
		return err
	}
	clear(f.files)
	clear(f.dirs)
	// A file nats-server replaced by rename while this flush ran (a
	// consumer's o.dat, index.db, a compacted block) may have had its
	// new name committed by this flush's journal commit before its data
	// was written: after a power loss it could read as zeros until a
	// later commit. Sync such files now rather than at the next flush,
	// which may be seconds away when callbacks pause.
	f.replaced = false
	if err := f.drain(); err != nil {
		return err
	}
	if f.full || f.syncfs {
		// Events this flush cannot follow one by one (a queue overflow,
		// an unknown watch, a directory moved or not watchable) arrived
		// while it ran: what they hide may be a file renamed into place
		// whose data was written before the caller's Sync. syncfs covers
		// it now; the next flush rebuilds (full) or keeps to syncfs.
		f.syncfsFallback.Add(1)
		return retryEINTR(func() error { return unix.Syncfs(f.sfd) })
	}
	if f.replaced {
		if err := f.syncAll(); err != nil {
			return err
		}
		clear(f.files)
		clear(f.dirs)
	}
	if len(f.fds) > maxCachedFiles {
		f.closeFiles()
	}
	return nil
}

// syncAll fdatasyncs every file in f.files through its cached
// descriptor (opened now if there is none; a file removed since it was
// written needs none), then fsyncs every directory in f.dirs.
//
// One file or directory alone is synced in place. Several are synced
// concurrently, after their data was written: on ext4 one fdatasync's
// journal commit then carries every file's new blocks and size and the
// directories' new entries, the others join it or find their changes
// committed, and their cache flushes are merged by the block layer,
// instead of a commit and a flush each in turn (4 files: about 5 ms in
// turn, as long as one syncfs concurrently).
func (f *fileSync) syncAll() error {
	jobs := make([]syncJob, 0, len(f.files)+len(f.dirs))
	for path := range f.files {
		fd, err := f.open(path)
		if err != nil {
			return err
		}
		if fd >= 0 {
			jobs = append(jobs, syncJob{path: path, fd: fd})
		}
	}
	for path := range f.dirs {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		switch {
		case errors.Is(err, unix.ENOENT):
			continue // removed since: its parent is synced for that
		case err != nil:
			closeDirs(jobs)
			return fmt.Errorf("open %s: %w", path, err)
		}
		jobs = append(jobs, syncJob{path: path, fd: fd, dir: true})
	}
	defer closeDirs(jobs)
	do := func(j syncJob) error {
		if j.dir {
			if err := retryEINTR(func() error { return unix.Fsync(j.fd) }); err != nil {
				return fmt.Errorf("fsync %s: %w", j.path, err)
			}
			f.dirsSynced.Add(1)
			return nil
		}
		if err := retryEINTR(func() error { return unix.Fdatasync(j.fd) }); err != nil {
			return fmt.Errorf("fdatasync %s: %w", j.path, err)
		}
		f.filesSynced.Add(1)
		return nil
	}
	if len(jobs) == 1 {
		return do(jobs[0])
	}
	// Write every file's data and wait for it (no journal commit yet),
	// so that the first commit below, whichever fdatasync makes it,
	// finds every file's data on the disk: a file renamed into place
	// (o.dat, index.db) must not have its new name committed while its
	// data is still being written, or a power loss then leaves it
	// reading zeros. syncfs orders it the same way.
	// The waiting pass reports a write-back error of the file (EIO) and
	// marks it seen on that descriptor, so that its fdatasync below would
	// return 0: the error is the flush's, as fdatasync's would be.
	var rangeErrs []error
	for _, flags := range []int{unix.SYNC_FILE_RANGE_WRITE,
		unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER} {
		for _, j := range jobs {
			if j.dir {
				continue
			}
			if err := retryEINTR(func() error { return unix.SyncFileRange(j.fd, 0, 0, flags) }); err != nil {
				rangeErrs = append(rangeErrs, fmt.Errorf("sync_file_range %s: %w", j.path, err))
			}
		}
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelSyncs)
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			errs[i] = do(j)
			<-sem
		}()
	}
	wg.Wait()
	return errors.Join(append(rangeErrs, errs...)...)
}

// maxParallelSyncs bounds the fdatasyncs of one flush run at once.
const maxParallelSyncs = 16

// syncJob is a file (through its cached descriptor) or a directory
// (its own descriptor, closed after the flush) to sync.
type syncJob struct {
	path string
	fd   int
	dir  bool
}

func closeDirs(jobs []syncJob) {
	for _, j := range jobs {
		if j.dir {
			_ = unix.Close(j.fd)
		}
	}
}

// open returns path's cached descriptor, opening it if there is none;
// -1 when path is gone (removed since it was written: nothing to sync).
func (f *fileSync) open(path string) (int, error) {
	if fd, ok := f.fds[path]; ok {
		return fd, nil
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP):
		return -1, nil
	case err != nil:
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	f.fds[path] = fd
	return fd, nil
}

func retryEINTR(call func() error) error {
	for {
		if err := call(); err != unix.EINTR {
			return err
		}
	}
}

// forget closes the cached descriptor of path (its name now holds
// another inode, or none) and of everything under it.
func (f *fileSync) forget(path string) {
	if fd, ok := f.fds[path]; ok {
		_ = unix.Close(fd)
		delete(f.fds, path)
	}
	prefix := path + "/"
	for p, fd := range f.fds {
		if strings.HasPrefix(p, prefix) {
			_ = unix.Close(fd)
			delete(f.fds, p)
		}
	}
}

func (f *fileSync) closeFiles() {
	for p, fd := range f.fds {
		_ = unix.Close(fd)
		delete(f.fds, p)
	}
}

// drain reads every queued event into files, dirs and full.
func (f *fileSync) drain() error {
	for {
		n, err := unix.Read(f.ifd, f.buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return nil
		case err != nil:
			return fmt.Errorf("read inotify: %w", err)
		case n <= 0:
			return nil
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&f.buf[off]))
			nameBytes := f.buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			f.event(ev.Wd, ev.Mask, unix.ByteSliceToString(nameBytes))
		}
	}
}

func (f *fileSync) event(wd int32, mask uint32, name string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		f.full = true
		return
	}
	dir, ok := f.wds[wd]
	if mask&unix.IN_IGNORED != 0 {
		delete(f.wds, wd) // the directory was removed
		return
	}
	if !ok {
		// A watch whose directory we lost track of: sync everything
		// once (and rebuild the watches) rather than guess.
		f.full = true
		return
	}
	if name == "" {
		return // an event on the directory itself; its parent reports what matters
	}
	path := dir + "/" + name
	isDir := mask&unix.IN_ISDIR != 0
	switch {
	case mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		f.forget(path)
		f.dirs[dir] = true
		if isDir {
			if err := f.watchTree(path); err != nil {
				f.syncfs = true // cannot follow it: syncfs from now on
			}
			f.replaced = true // its files, marked by watchTree, are synced by this flush
		} else {
			f.files[path] = true
			f.replaced = true
		}
	case mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
		f.forget(path)
		delete(f.files, path)
		f.dirs[dir] = true
		if isDir {
			// Its watches move with it (renamed) or end (removed, with
			// IN_IGNORED). Paths under it are stale: forget them; a
			// rename into the store is IN_MOVED_TO and is watched anew.
			prefix := path + "/"
			for w, p := range f.wds {
				if p == path || strings.HasPrefix(p, prefix) {
					_, _ = unix.InotifyRmWatch(f.ifd, uint32(w))
					delete(f.wds, w)
				}
			}
			for p := range f.files {
				if strings.HasPrefix(p, prefix) {
					delete(f.files, p)
					if mask&unix.IN_MOVED_FROM != 0 {
						// A file written before the caller's Sync now
						// lives under the directory's new name, whose
						// IN_MOVED_TO may come in a later drain (or
						// never: moved out of the store): sync all.
						f.full = true
					}
				}
			}
			for p := range f.dirs {
				if p == path || strings.HasPrefix(p, prefix) {
					delete(f.dirs, p)
				}
			}
		}
	case mask&unix.IN_MODIFY != 0:
		if !isDir {
			f.files[path] = true
		}
	}
}

// stats are the totals of what flushes synced.
func (f *fileSync) stats() (files, dirs, fulls, syncfs uint64) {
	return f.filesSynced.Load(), f.dirsSynced.Load(), f.fulls.Load(), f.syncfsFallback.Load()
}

func (f *fileSync) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.closeFiles()
	_ = unix.Close(f.sfd)
	return unix.Close(f.ifd)
}

// storeFilesFlush returns fileSync's flush of the store under dir, a
// func releasing it, and the fileSync itself (for its stats and tests).
func storeFilesFlush(dir string) (func() error, func() error, *fileSync, error) {
	f, err := newFileSync(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	return f.flush, f.close, f, nil
}
