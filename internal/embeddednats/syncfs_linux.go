package embeddednats

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// File system magic numbers (statfs f_type) grouped syncing accepts.
const (
	ext4Magic  = 0xEF53 // ext2, ext3 and ext4
	btrfsMagic = 0x9123683E
	tmpfsMagic = 0x01021994
)

// groupSyncCheck returns why grouped syncing cannot serve a store in dir,
// "" when it can:
//   - syncfs(2) reports write-back errors only since Linux 5.8;
//   - nats-server replaces some files by writing a temporary file and
//     renaming it over the old one (compacted message blocks, consumer
//     state, stream metadata), and without its own sync_always it does
//     not fsync them. ext4 (unless mounted noauto_da_alloc) and btrfs
//     write such a file's data before the rename takes effect, so a power
//     loss leaves the old or the new file; other file systems (XFS among
//     them) can leave it empty. tmpfs keeps nothing over a power loss
//     either way. On ext4 this holds only until a journal commit catches
//     the rename before the new file's write-back has completed: a
//     power-loss drill saw a consumer's o.dat read as zeros once (see
//     docs/durability.md, "What is not closed"); fileSync syncs files
//     renamed during its own flush before returning to narrow that.
func groupSyncCheck(dir string) string {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "uname: " + err.Error()
	}
	if !kernelAtLeast(unix.ByteSliceToString(uts.Release[:]), 5, 8) {
		return "Linux " + unix.ByteSliceToString(uts.Release[:]) + " is older than 5.8 (syncfs does not report write-back errors)"
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "statfs: " + err.Error()
	}
	switch uint32(st.Type) {
	case btrfsMagic, tmpfsMagic:
		return ""
	case ext4Magic:
		if opts, ok := mountOptions(dir); ok && hasOption(opts, "noauto_da_alloc") {
			return "ext4 mounted noauto_da_alloc (a file replaced by rename may be left empty after a power loss)"
		}
		return ""
	}
	return fmt.Sprintf("file system type %#x is not ext4 or btrfs (a file replaced by rename may be left empty after a power loss)", uint32(st.Type))
}

// kernelAtLeast compares a release such as "6.1.0-13-amd64".
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	digits := parts[1]
	if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = digits[:i]
	}
	mi, err2 := strconv.Atoi(digits)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// mountOptions returns the mount and super-block options of the mount
// holding dir (the longest mount point that is a prefix of its real path).
func mountOptions(dir string) (string, bool) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", false
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer f.Close()
	best, opts := -1, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 6 || sep < 0 || sep+3 >= len(fields) {
			continue
		}
		mp := unescapeMount(fields[4])
		if !within(real, mp) || len(mp) <= best {
			continue
		}
		best, opts = len(mp), fields[5]+","+fields[sep+3]
	}
	return opts, best >= 0
}

func within(path, mountPoint string) bool {
	if mountPoint == "/" {
		return true
	}
	return path == mountPoint || strings.HasPrefix(path, mountPoint+"/")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hasOption(opts, name string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// storeFlush returns a flush for GroupSync: syncfs on the file system of
// dir, and a func releasing it. It syncs everything dirty on that file
// system, so a store on a volume of its own costs least.
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
