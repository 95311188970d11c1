//go:build !unix

package sqlite

// lockFile is a no-op where advisory file locks are not available: run
// the first migration from one process at a time there.
func lockFile(string) (func(), error) { return func() {}, nil }
