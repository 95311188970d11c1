//go:build !unix

package pidlock

import "os"

// tryLock is a no-op where advisory file locks are not available: there
// the one-process rule is the operator's to keep.
func tryLock(*os.File) (held bool, err error) { return false, nil }

func unlock(*os.File) {}
