package sqlstore

// LastLeavesSQL is the statement that reads the last leaves of n rows, as
// the dialect of s runs it (tests explain it).
func LastLeavesSQL(s *DB, n int) string { return s.q(lastLeavesQuery(n, true)) }
