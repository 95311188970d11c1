package receiver

import (
	"testing"
	"time"
)

// TestDeadlinesShared: callbacks within one slot share a context whose
// deadline is d to d+slot after each of them; a later one gets a new one.
func TestDeadlinesShared(t *testing.T) {
	ds := newDeadlines(5 * time.Second)
	t0 := time.Now()
	a := ds.get(t0)
	b := ds.get(t0.Add(deadlineSlot - time.Millisecond))
	if a != b {
		t.Fatal("two calls within a slot got different contexts")
	}
	for _, at := range []time.Time{t0, t0.Add(deadlineSlot - time.Millisecond)} {
		end, ok := a.Deadline()
		if !ok || end.Sub(at) < 5*time.Second || end.Sub(at) > 5*time.Second+deadlineSlot {
			t.Fatalf("deadline %v after the call, want 5s to 5s+%v", end.Sub(at), deadlineSlot)
		}
	}
	c := ds.get(t0.Add(deadlineSlot))
	if c == a {
		t.Fatal("a call after the slot got the old context")
	}
	if end, _ := c.Deadline(); end.Sub(t0.Add(deadlineSlot)) < 5*time.Second {
		t.Fatalf("new deadline %v", end)
	}
	short := newDeadlines(time.Millisecond)
	ctx := short.get(time.Now())
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the shared context never ended")
	}
}
