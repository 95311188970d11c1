package embeddednats

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// groupSyncSupported: syncfs(2) flushes the whole file system holding
// the store, including new files' directory entries, and since Linux 5.8
// reports write-back errors.
const groupSyncSupported = true

// storeFlush returns a flush for GroupSync: syncfs on the file system
// of dir. It syncs everything dirty on that file system, so a data dir on
// its own volume costs least.
func storeFlush(dir string) (func() error, func() error, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("embeddednats: open store dir for sync: %w", err)
	}
	flush := func() error {
		for {
			err := unix.Syncfs(fd)
			if err != unix.EINTR {
				return err
			}
		}
	}
	return flush, func() error { return unix.Close(fd) }, nil
}
