package evidence_test

import (
	"testing"
)

// TestRoundTrip: a bundle built from real parts verifies with every key
// and root pinned: no problem, and a line for every file.
func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	z := mustWrite(t, f)
	res := mustVerify(t, z, f.pinned())
	if res.Problems != 0 {
		t.Fatalf("%d problems: %+v", res.Problems, problems(res))
	}
	for _, l := range res.Lines {
		t.Logf("%s: %s", l.Item, l.What)
	}
}
