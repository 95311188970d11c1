package store

import "errors"

// ErrTransient marks a failure that may pass if the same call is retried
// later: SQLite busy or locked, a PostgreSQL serialization failure or
// deadlock, a lost or refused connection, a context deadline. The
// implementations wrap such errors so that errors.Is(err, ErrTransient)
// holds; the dispatcher then naks with a delay instead of dead-lettering.
var ErrTransient = errors.New("store: transient database error")

// IsTransient reports whether err is worth retrying later (see
// ErrTransient).
func IsTransient(err error) bool {
	return errors.Is(err, ErrTransient)
}
