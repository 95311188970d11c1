package qystest_test

import (
	"testing"

	"github.com/qyshook/qyshook/qys/qystest"
)

func firstIDs(tb testing.TB, opts ...qystest.Option) (contract, document, signatory string) {
	tb.Helper()
	srv := MustServer(tb, opts...)
	id := MustContract(tb, srv, nil)
	c, _ := srv.Contract(id)
	return id, string(c.Documents[0].ID), string(c.Signatories[0].ID)
}

// TestIDsDifferPerRun: two fakes (two `qyshook sim` runs against one
// ledger) must not hand out the same ids; a fixed seed repeats them.
func TestIDsDifferPerRun(t *testing.T) {
	c1, d1, s1 := firstIDs(t)
	c2, d2, s2 := firstIDs(t)
	if c1 == c2 || d1 == d2 || s1 == s2 {
		t.Fatalf("two runs gave the same ids: contract %s/%s, document %s/%s, signatory %s/%s", c1, c2, d1, d2, s1, s2)
	}
	if len(c1) != 19 || len(c2) != 19 {
		t.Fatalf("contract ids %s, %s: want 19 digits like the platform's", c1, c2)
	}
	t.Run("SameSeed", func(t *testing.T) {
		a, _, _ := firstIDs(t, qystest.WithIDSeed(7))
		b, _, _ := firstIDs(t, qystest.WithIDSeed(7))
		if a != b {
			t.Fatalf("seed 7 gave %s then %s", a, b)
		}
		if z, _, _ := firstIDs(t, qystest.WithIDSeed(0)); z != "3121362688614085150" {
			t.Fatalf("seed 0 gave %s, want the historical first id", z)
		}
	})
}
