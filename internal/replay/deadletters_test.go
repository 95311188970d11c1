package replay_test

import (
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/replay"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

func TestDeadLetters(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			w := newWorld(t)
			ctx := ctxT(t)
			l := testdb.Open(t, kind)
			a, c := w.addContract(qys.StatusComplete), w.addContract(qys.StatusComplete)
			good := contractEnvelope("default", a, "COMPLETE", qys.StatusComplete, "")
			missing := contractEnvelope("default", "404404", "COMPLETE", qys.StatusComplete, "")
			other := contractEnvelope("acme", c, "COMPLETE", qys.StatusComplete, "")
			var rows []int64
			for i, payload := range [][]byte{mustEncode(t, good), []byte("{garbage"), mustEncode(t, missing), mustEncode(t, other)} {
				id, err := l.AddDeadLetter(ctx, store.DeadLetter{EventID: "e", Tenant: "default", Consumer: "ledger",
					Subject: "qys.callback.default.contract.COMPLETE", StreamSeq: uint64(10 + i), Reason: "permanent: test",
					Deliveries: 1, Payload: payload, CreatedAt: time.Now().UTC()})
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, id)
			}
			r, err := replay.New(replay.Config{})
			if err != nil {
				t.Fatal(err)
			}
			sel := replay.Selector{Tenant: "default"}

			dry, err := r.RunDeadLetters(ctx, l, sel, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := itemIDs(dry.Items); !slices.Equal(got, []string{good.ID, missing.ID}) || dry.Undecodable != 1 || dry.Deleted != 0 {
				t.Fatalf("dry run: %+v", dry)
			}
			if dry.Items[0].DeadLetterID != rows[0] || dry.Items[0].Seq != 10 {
				t.Errorf("dry-run item %+v", dry.Items[0])
			}
			if n := countDeadLetters(t, l); n != 4 {
				t.Fatalf("dry run deleted rows: %d left", n)
			}

			d := w.dispatcher(l, t.TempDir())
			rep, err := r.RunDeadLetters(ctx, l, sel, d.Apply, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Selected != 2 || rep.Applied != 1 || rep.Failed != 1 || rep.Undecodable != 1 || rep.Deleted != 1 {
				t.Fatalf("report %+v", rep)
			}
			if len(rep.Errors) != 2 || rep.Errors[1].DeadLetterID != rows[2] {
				t.Errorf("errors %+v", rep.Errors)
			}
			left, err := l.DeadLetters(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			var leftIDs []int64
			for _, row := range left {
				leftIDs = append(leftIDs, row.ID)
			}
			if !slices.Equal(leftIDs, rows[1:]) {
				t.Errorf("dead letters left %v, want %v", leftIDs, rows[1:])
			}
			if got, err := l.Contract(ctx, "default", a); err != nil || got.Status != qys.StatusComplete {
				t.Errorf("contract after retry: %+v, %v", got, err)
			}
			if _, err := r.RunDeadLetters(ctx, l, replay.Selector{FromSeq: 1}, nil, nil); err == nil {
				t.Error("sequence bounds accepted for dead letters")
			}
		})
	}
}

func mustEncode(t *testing.T, v interface{ Encode() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func countDeadLetters(t *testing.T, l store.Ledger) int {
	t.Helper()
	rows, err := l.DeadLetters(ctxT(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}
