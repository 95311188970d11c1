package postgres

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsDiskFull reports PostgreSQL's disk_full (53100): the server could not
// extend a file. It passes once space is freed (store.ErrDiskFull).
func IsDiskFull(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53100"
}

// IsRejected reports PostgreSQL errors no retry of the same statement can
// fix (store.ErrRejected): data exceptions (class 22: 22021 a NUL byte or
// invalid UTF-8 in text, 22P05 an unsupported Unicode escape, 22001 a
// value too long, 22003 out of range…), integrity violations (class 23)
// other than unique and exclusion conflicts, which the ledger expects and
// resolves, and program limits (54000, such as an index row over its
// maximum size).
func IsRejected(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch {
	case strings.HasPrefix(pe.Code, "22"):
		return true
	case strings.HasPrefix(pe.Code, "23"):
		return pe.Code != "23505" && pe.Code != "23P01"
	}
	return pe.Code == "54000"
}
