package activity

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 30, 20, 0, time.UTC)
	r := New()
	r.SetClock(func() time.Time { return now })
	r.Add(Received, "a", 2)
	r.Add(Received, "b", 1)
	r.Set(Lag, "", 4)
	r.Set(Lag, "", 3)
	now = now.Add(2 * time.Minute)
	r.Add(Received, "a", 5)
	r.Set(Lag, "", 1)
	start, ss := r.Window(time.Hour, time.Minute)
	if !start.Equal(time.Date(2026, 12, 7, 9, 33, 0, 0, time.UTC)) {
		t.Errorf("start %v", start)
	}
	if len(ss) != 3 || ss[0].Name != Received || ss[0].Tenant != "a" || ss[2].Name != Lag {
		t.Fatalf("series %+v", ss)
	}
	a := ss[0].Points
	if len(a) != 60 || a[59] != 5 || a[57] != 2 || a[58] != 0 {
		t.Errorf("received a: last points %v", a[55:])
	}
	if l := ss[2].Points; l[57] != 4 || l[59] != 1 {
		t.Errorf("lag keeps a minute's highest: %v", l[55:])
	}
	_, day := r.Window(24*time.Hour, 15*time.Minute)
	if len(day[0].Points) != 96 || day[0].Points[95] != 7 {
		t.Errorf("a day by 15 min: %d points, last %v", len(day[0].Points), day[0].Points[95])
	}
	// A day later the old minutes are gone.
	now = now.Add(25 * time.Hour)
	if _, ss := r.Window(24*time.Hour, 15*time.Minute); len(ss) != 0 {
		t.Errorf("a day later: %+v", ss)
	}
}
