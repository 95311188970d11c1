package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/qyshook/qyshook/store"
)

func TestStatusRank(t *testing.T) {
	order := [][]string{
		{"DRAFT"}, {"FILLING"}, {"SIGNING", "WHATEVER"},
		{"COMPLETE", "REJECTED", "RECALLED", "EXPIRED", "FAILED", "FORCE_END", "END", "DELETE", "FINISHED"},
		{"INVALIDING", "TERMINATING"}, {"INVALIDED", "TERMINATED"},
	}
	for rank, statuses := range order {
		for _, s := range statuses {
			if got := store.StatusRank(s); got != rank {
				t.Errorf("StatusRank(%s) = %d, want %d", s, got, rank)
			}
		}
	}
	for s, want := range map[string]bool{"COMPLETE": false, "REJECTED": true, "INVALIDING": false, "INVALIDED": true, "SIGNING": false, "X": false} {
		if got := store.IsTerminal(s); got != want {
			t.Errorf("IsTerminal(%s) = %v", s, got)
		}
	}
}

func TestAdvances(t *testing.T) {
	c := func(status string, confirmed bool, signed int, detail string) *store.Contract {
		k := &store.Contract{Status: status, Confirmed: confirmed, Detail: []byte(detail)}
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
		{nil, c("DRAFT", false, 0, ""), true},
		{c("COMPLETE", true, 3, ""), c("SIGNING", true, 2, ""), false},
		{c("SIGNING", false, 0, ""), c("COMPLETE", false, 3, ""), true},
		{c("REJECTED", true, 0, ""), c("INVALIDED", true, 0, ""), false},
		{c("COMPLETE", true, 3, ""), c("INVALIDING", false, 3, ""), true},
		{c("INVALIDING", true, 3, ""), c("COMPLETE", false, 3, ""), false},
		{c("INVALIDING", true, 3, ""), c("COMPLETE", true, 3, ""), true},
		{c("SIGNING", true, 1, ""), c("SIGNING", false, 2, ""), false},
		{c("SIGNING", false, 2, ""), c("SIGNING", true, 0, ""), true},
		{c("SIGNING", true, 1, `{"a":1}`), c("SIGNING", true, 1, `{ "a": 1 }`), false},
		{c("SIGNING", true, 1, `{"a":1}`), c("SIGNING", true, 1, `{"a":2}`), true},
		{c("SIGNING", true, 2, `{"a":1}`), c("SIGNING", true, 1, `{"a":2}`), false},
		{c("EXPIRED", false, 0, ""), c("NEW_STATUS", true, 0, ""), false},
		{c("REJECTED", false, 0, ""), c("COMPLETE", true, 3, ""), false},
		{c("COMPLETE", true, 3, ""), c("REJECTED", true, 0, ""), false},
	}
	for i, tc := range cases {
		name := fmt.Sprintf("%d", i)
		if tc.old != nil {
			name = fmt.Sprintf("%d/%s-%v->%s-%v", i, tc.old.Status, tc.old.Confirmed, tc.next.Status, tc.next.Confirmed)
		}
		if got := store.Advances(tc.old, tc.next); got != tc.want {
			t.Errorf("%s: Advances = %v, want %v", name, got, tc.want)
		}
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
