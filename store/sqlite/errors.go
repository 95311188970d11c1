package sqlite

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsDiskFull reports SQLite errors of a write the disk refused:
// SQLITE_FULL (ENOSPC), and SQLITE_IOERR_WRITE, which is how SQLite
// reports every other refused write (EDQUOT, EFBIG "file too large",
// EIO). They pass once the disk has room (store.ErrDiskFull).
func IsDiskFull(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code()&0xff == sqlite3.SQLITE_FULL || se.Code() == sqlite3.SQLITE_IOERR_WRITE
}

// IsRejected reports SQLite errors no retry of the same statement can
// fix (store.ErrRejected): constraint violations other than unique and
// primary-key conflicts (which the ledger expects and resolves), values
// over SQLite's limits (SQLITE_TOOBIG) and type mismatches.
func IsRejected(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT:
		return se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}
