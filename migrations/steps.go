package migrations

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// StepsDownTo counts the migrations in dir of fsys (SQLite, "sqlite" or
// Postgres, "postgres") whose version is above target: the steps that
// migrating down from the latest to target takes. Versions need not be
// contiguous (parallel branches take their own numbers), so the latest
// version minus target is not the step count.
func StepsDownTo(fsys fs.FS, dir string, target uint) (int, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".up.sql")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration %s: version: %w", e.Name(), err)
		}
		if uint(v) > target {
			n++
		}
	}
	return n, nil
}
