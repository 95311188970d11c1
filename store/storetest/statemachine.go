package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// machineCases are event sequences for one contract: each step says
// whether it must change the ledger, and the last row must have status
// want.
var machineCases = []struct {
	name    string
	steps   []step
	changed []bool
	want    string
}{
	{"LateSigningAfterCompleteIgnored",
		[]step{{status: "SIGNING", confirmed: true}, {status: "COMPLETE", confirmed: true, signed: 3}, {status: "SIGNING", confirmed: true, signed: 2}},
		[]bool{true, true, false}, "COMPLETE"},
	{"OutOfOrderConverges",
		[]step{{status: "COMPLETE", confirmed: true, signed: 3}, {status: "DRAFT", confirmed: true}, {status: "FILLING", confirmed: true}, {status: "SIGNING", confirmed: true, signed: 1}},
		[]bool{true, false, false, false}, "COMPLETE"},
	{"RejectedIsTerminal",
		[]step{{status: "REJECTED", confirmed: true}, {status: "COMPLETE", confirmed: true, signed: 3}, {status: "SIGNING", confirmed: true}, {status: "INVALIDED", confirmed: true}},
		[]bool{true, false, false, false}, "REJECTED"},
	{"UnconfirmedTerminalIsTerminal",
		[]step{{status: "EXPIRED"}, {status: "RECALLED", confirmed: true}},
		[]bool{true, false}, "EXPIRED"},
	{"TerminalRefinedBySameStatus",
		[]step{{status: "RECALLED"}, {status: "RECALLED", confirmed: true}},
		[]bool{true, true}, "RECALLED"},
	{"CompleteToInvalided",
		[]step{{status: "COMPLETE", confirmed: true, signed: 3}, {status: "INVALIDING", confirmed: true, signed: 3}, {status: "INVALIDED", confirmed: true, signed: 3}, {status: "COMPLETE", confirmed: true, signed: 3}},
		[]bool{true, true, true, false}, "INVALIDED"},
	{"CompleteStraightToInvalided",
		[]step{{status: "COMPLETE", confirmed: true, signed: 3}, {status: "INVALIDED", signed: 3}},
		[]bool{true, true}, "INVALIDED"},
	{"InvalidRejectedBackToCompleteWhenConfirmed",
		[]step{{status: "COMPLETE", confirmed: true, signed: 3}, {status: "INVALIDING", confirmed: true, signed: 3}, {status: "COMPLETE", signed: 3}, {status: "COMPLETE", confirmed: true, signed: 3}},
		[]bool{true, true, false, true}, "COMPLETE"},
	{"PrivateCloudTerminationRejectedBackToComplete",
		[]step{{status: "COMPLETE", confirmed: true, signed: 3}, {status: "TERMINATING", confirmed: true, signed: 3}, {status: "COMPLETE", confirmed: true, signed: 3}, {status: "TERMINATED", confirmed: true, signed: 3}, {status: "COMPLETE", confirmed: true, signed: 3}},
		[]bool{true, true, true, true, false}, "TERMINATED"},
	{"UnconfirmedCannotOverwriteConfirmed",
		[]step{{status: "SIGNING", confirmed: true, signed: 1}, {status: "SIGNING", signed: 2}},
		[]bool{true, false}, "SIGNING"},
	{"ConfirmedReplacesUnconfirmed",
		[]step{{status: "SIGNING", signed: 2}, {status: "SIGNING", confirmed: true, signed: 1}},
		[]bool{true, true}, "SIGNING"},
	{"ConfirmedReplacesUnconfirmedStatusOfSameRank",
		[]step{{status: "SIGNING"}, {status: "SIGNING_NEW_KIND", confirmed: true}, {status: "SIGNING", confirmed: true}},
		[]bool{true, true, false}, "SIGNING_NEW_KIND"},
	{"MoreProgressAdvances",
		[]step{{status: "SIGNING", confirmed: true}, {status: "SIGNING", confirmed: true, signed: 2}, {status: "SIGNING", confirmed: true, signed: 1}},
		[]bool{true, true, false}, "SIGNING"},
	{"IdenticalDetailIsNoChange",
		[]step{{status: "SIGNING", confirmed: true, detail: `{"a":1,"b":[1,2]}`}, {status: "SIGNING", confirmed: true, detail: "{ \"a\": 1,\n \"b\": [1, 2] }"}, {status: "SIGNING", confirmed: true, detail: `{"a":2}`}},
		[]bool{true, false, true}, "SIGNING"},
	{"UnknownStatusCannotOverwriteTerminal",
		[]step{{status: "DRAFT", confirmed: true}, {status: "SOMETHING_NEW", confirmed: true}, {status: "FAILED", confirmed: true}, {status: "SOMETHING_ELSE", confirmed: true}},
		[]bool{true, true, true, false}, "FAILED"},
	{"InvalidedIsTerminal",
		[]step{{status: "INVALIDED", confirmed: true}, {status: "COMPLETE", confirmed: true, signed: 3}, {status: "INVALIDING", confirmed: true}},
		[]bool{true, false, false}, "INVALIDED"},
}

func testStateMachine(t *testing.T, l store.Ledger) {
	for i, tc := range machineCases {
		t.Run(tc.name, func(t *testing.T) {
			cid := fmt.Sprintf("sm%d", i)
			var prev string
			for j, s := range tc.steps {
				a := MustApply(t, l, change(fmt.Sprintf("%s-e%d", cid, j), cid, s))
				if a.Changed != tc.changed[j] {
					t.Fatalf("step %d (%s confirmed=%v signed=%d over %s): changed = %v, want %v",
						j, s.status, s.confirmed, s.signed, prev, a.Changed, tc.changed[j])
				}
				if a.Current == nil {
					t.Fatalf("step %d: Current is nil", j)
				}
				if a.Changed && a.Current.Status != s.status {
					t.Fatalf("step %d: Current.Status = %s, want %s", j, a.Current.Status, s.status)
				}
				if !a.Changed && a.Current.Status != prev {
					t.Fatalf("step %d: unchanged but Current.Status = %s, want %s", j, a.Current.Status, prev)
				}
				prev = a.Current.Status
			}
			if c := MustContract(t, l, cid); c.Status != tc.want {
				t.Errorf("final status = %s, want %s", c.Status, tc.want)
			}
		})
	}
}

func testCompletedAt(t *testing.T, l store.Ledger) {
	a := MustApply(t, l, change("e1", "c1", step{status: "SIGNING", confirmed: true}))
	if a.Current.CompletedAt != nil {
		t.Fatalf("SIGNING has CompletedAt %v", a.Current.CompletedAt)
	}
	a = MustApply(t, l, change("e2", "c1", step{status: "COMPLETE", confirmed: true, signed: 3}))
	if a.Current.CompletedAt == nil {
		t.Fatal("COMPLETE has no CompletedAt")
	}
	done := *a.Current.CompletedAt
	if a.Previous == nil || a.Previous.Status != "SIGNING" {
		t.Fatalf("Previous = %+v, want the SIGNING row", a.Previous)
	}
	time.Sleep(2 * time.Millisecond)
	a = MustApply(t, l, change("e3", "c1", step{status: "INVALIDED", confirmed: true, signed: 3}))
	if !a.Changed || a.Current.CompletedAt == nil || !a.Current.CompletedAt.Equal(done) {
		t.Fatalf("after INVALIDED CompletedAt = %v, want %v kept", a.Current.CompletedAt, done)
	}
	ch := change("e4", "c2", step{status: "COMPLETE", confirmed: true, signed: 3})
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	ch.Contract.CompletedAt = &at
	if a = MustApply(t, l, ch); a.Current.CompletedAt == nil || !a.Current.CompletedAt.Equal(at) {
		t.Fatalf("given CompletedAt = %v, want %v", a.Current.CompletedAt, at)
	}
}
