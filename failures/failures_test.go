package failures

import (
	"strings"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tr := New(time.Minute)
	tr.SetClock(func() time.Time { return now })
	if _, ok := tr.PlatformFailing(); ok {
		t.Fatal("a new tracker says the platform fails")
	}
	tr.Failed("a", "api_error", "442", "INVALID SIGNATURE")
	now = now.Add(10 * time.Second)
	tr.Failed("a", "api_error", "442", "INVALID SIGNATURE again")
	tr.Failed("b", "store_error", "", "database is locked")
	cs := tr.Causes()
	if len(cs) != 2 || cs[0].Tenant != "a" || cs[0].Failures != 2 || cs[0].LastError != "INVALID SIGNATURE again" ||
		!cs[0].LastSeen.Equal(now) || cs[0].FirstSeen.Equal(now) || cs[1].Platform() {
		t.Fatalf("causes %+v", cs)
	}
	since, ok := tr.PlatformFailing()
	if !ok || !since.Equal(now.Add(-10*time.Second)) {
		t.Errorf("platform failing since %v %v", since, ok)
	}
	tr.Succeeded("a")
	if _, ok := tr.PlatformFailing(); ok || len(tr.Causes()) != 1 {
		t.Errorf("after a's success: %+v", tr.Causes())
	}
	now = now.Add(2 * time.Minute)
	if cs := tr.Causes(); len(cs) != 0 {
		t.Errorf("causes past their TTL: %+v", cs)
	}
	tr.Failed("a", "timeout", "", strings.Repeat("é", 400))
	if e := tr.Causes()[0].LastError; len(e) > maxError+len("…") || !strings.HasSuffix(e, "…") {
		t.Errorf("long error kept as %d bytes", len(e))
	}
	var nilT *Tracker
	nilT.Failed("a", "x", "", "")
	nilT.Succeeded("a")
	if nilT.Causes() != nil {
		t.Error("a nil tracker has causes")
	}
}
