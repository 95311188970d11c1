package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// TestAdvancesOnRows checks store.Advances feeds lifecycle.Advances the
// rows' progress and fetch times (lifecycle's tests cover the rules).
func TestAdvancesOnRows(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	c := func(status string, confirmed bool, signed int, fetched time.Time) *store.Contract {
		k := &store.Contract{Status: status, Confirmed: confirmed, FetchedAt: fetched}
		for i := range 3 {
			st := "WAITING"
			if i < signed {
				st = "SIGNED"
			}
			k.Signatories = append(k.Signatories, store.Signatory{Status: st})
		}
		return k
	}
	cases := []struct {
		old, next *store.Contract
		want      bool
	}{
		{nil, c("DRAFT", false, 0, time.Time{}), true},
		{c("DRAFT", false, 0, time.Time{}), nil, false},
		{c("SIGNING", true, 1, t0), c("SIGNING", true, 2, t0.Add(time.Second)), true},
		{c("SIGNING", true, 2, t0), c("SIGNING", true, 1, t0.Add(time.Second)), false},
		{c("INVALIDING", true, 3, t0.Add(time.Second)), c("COMPLETE", true, 3, t0), false},
		{c("INVALIDING", true, 3, t0), c("COMPLETE", true, 3, t0.Add(time.Second)), true},
	}
	for i, tc := range cases {
		if got := store.Advances(tc.old, tc.next); got != tc.want {
			t.Errorf("%d: Advances = %v, want %v", i, got, tc.want)
		}
	}
	old, again := c("COMPLETE", true, 3, t0), c("COMPLETE", true, 3, t0.Add(time.Second))
	if store.Advances(old, again) || !store.Reconfirms(old, again) {
		t.Error("a later identical confirmed view must reconfirm, not advance")
	}
}

func TestIsTransient(t *testing.T) {
	if store.IsTransient(errors.New("x")) || store.IsTransient(nil) {
		t.Error("plain error transient")
	}
	if !store.IsTransient(fmt.Errorf("ledger: x: %w", store.ErrTransient)) {
		t.Error("wrapped ErrTransient not transient")
	}
}
