package store

import (
	"errors"
	"syscall"
)

// ErrTransient marks a failure that may pass if the same call is retried
// later: SQLite busy or locked, a PostgreSQL serialization failure or
// deadlock, a lost or refused connection, a context deadline, a full disk.
// The implementations wrap such errors so that errors.Is(err, ErrTransient)
// holds; the dispatcher then naks with a delay instead of dead-lettering.
var ErrTransient = errors.New("store: transient database error")

// ErrDiskFull marks a write the database could not make for want of disk
// space (PostgreSQL 53100 disk_full; SQLite SQLITE_FULL, or a write the
// operating system refused, SQLITE_IOERR_WRITE: ENOSPC, EDQUOT, EFBIG).
// Such an error is also ErrTransient: it passes once space is freed, so
// the dispatcher retries it for as long as it lasts.
var ErrDiskFull = errors.New("store: disk full")

// ErrRejected marks values the database refuses for good, so that no
// retry of the same call can succeed: PostgreSQL data exceptions (class
// 22: a NUL byte or invalid UTF-8 in text, a value too long, out of
// range), integrity violations other than the conflicts the ledger
// expects (class 23), program limits such as an index row too large
// (54000); SQLite constraint, too-big and mismatch errors. The dispatcher
// dead-letters the event at once (reason store_rejected).
var ErrRejected = errors.New("store: the database refused the values")

// IsTransient reports whether err is worth retrying later (see
// ErrTransient).
func IsTransient(err error) bool {
	return errors.Is(err, ErrTransient)
}

// IsDiskFull reports a write refused for want of disk space: the ledger's
// (ErrDiskFull) or any file's, such as a document's (ENOSPC, EDQUOT, EFBIG
// "file too large" under a file-size limit, EROFS a file system remounted
// read-only). It passes once the operator frees space: retry it, and name
// it as a disk problem (reason disk_full), never as the platform's.
func IsDiskFull(err error) bool {
	return errors.Is(err, ErrDiskFull) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EROFS)
}
