package sqlstore

// LastLeavesSQL is the statement that reads the last leaves of n rows, as
// the dialect of s runs it (tests explain it).
func LastLeavesSQL(s *DB, n int) string { return s.q(lastLeavesQuery(n, true)) }

// QueueEvidenceSQL is the commit path's evidence queue statement for n
// leaves of kind, as the dialect of s runs it, and its trailing arguments
// (tests explain it).
func QueueEvidenceSQL(s *DB, kind string, n int) (string, []any) {
	sts := bundleStatuses()
	return s.q(queueEvidenceSQL(kind, n, len(sts))), append([]any{true}, sts...)
}
