package replay_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/replay"
	"github.com/qyshook/qyshook/store"
)

// TestRetryDeadLetters: the retry republishes the selected dead letters
// with their row ids and deletes nothing; the running dispatcher resolves
// the one that now applies (row and QYS_DLQ message) and replaces the one
// that fails again with a new dead letter.
func TestRetryDeadLetters(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			w := newWorld(t)
			ctx := ctxT(t)
			l := testdb.Open(t, kind)
			a, c := w.addContract(lifecycle.Complete), w.addContract(lifecycle.Complete)
			good := contractEnvelope("default", a, "COMPLETE", lifecycle.Complete, "")
			missing := contractEnvelope("default", "404404", "COMPLETE", lifecycle.Complete, "")
			other := contractEnvelope("acme", c, "COMPLETE", lifecycle.Complete, "")
			var rows []store.DeadLetter
			for i, payload := range [][]byte{mustEncode(t, good), []byte("{garbage"), mustEncode(t, missing), mustEncode(t, other)} {
				d := store.DeadLetter{EventID: "e", Tenant: "default", Consumer: events.DurableLedger,
					Subject: w.nats.Names.CallbackSubject("default", events.KindContract, "COMPLETE"), StreamSeq: uint64(10 + i),
					Reason: "permanent: test", Deliveries: 1, Payload: payload, CreatedAt: time.Now().UTC()}
				id, err := l.AddDeadLetter(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				d.ID = id
				rows = append(rows, d)
			}
			// The good one's QYS_DLQ message, as the dispatcher wrote it.
			dlqMsg := nats.NewMsg(w.nats.Names.DLQSubject(events.DurableLedger))
			dlqMsg.Data = rows[0].Payload
			dlqMsg.Header.Set(events.HeaderDLQStreamSeq, "10")
			ack, err := w.nats.JS.PublishMsg(ctx, dlqMsg)
			if err != nil {
				t.Fatal(err)
			}
			r, err := replay.New(replay.Config{JS: w.nats.JS, Names: w.nats.Names, Job: "retry-1"})
			if err != nil {
				t.Fatal(err)
			}
			sel := replay.Selector{Tenant: "default"}

			dry, err := r.RetryDeadLetters(ctx, rows, sel, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := results(dry.Items); !slices.Equal(got, []string{"1:would_republish", "2:undecodable", "3:would_republish"}) ||
				dry.Undecodable != 1 || dry.Republished != 0 {
				t.Fatalf("dry run: %v %+v", got, dry)
			}

			rep, err := r.RetryDeadLetters(ctx, rows, sel, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := results(rep.Items); !slices.Equal(got, []string{"1:republished", "2:undecodable", "3:republished"}) ||
				rep.Republished != 2 || rep.Selected != 2 {
				t.Fatalf("retry: %v %+v", got, rep)
			}
			if n := countDeadLetters(t, l); n != 4 {
				t.Fatalf("the retry itself deleted dead letters: %d left", n)
			}
			msgs, err := natstest.StreamMessages(ctx, w.nats.JS, w.nats.Names.CallbacksStream())
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 2 || msgs[0].Header.Get(events.HeaderDeadLetterID) != strconv.FormatInt(rows[0].ID, 10) ||
				msgs[0].Header.Get(events.HeaderDeadLetterSeq) != strconv.FormatUint(ack.Sequence, 10) ||
				msgs[1].Header.Get(events.HeaderDeadLetterID) != strconv.FormatInt(rows[2].ID, 10) ||
				msgs[1].Header.Get(events.HeaderDeadLetterSeq) != "" || msgs[0].Subject != rows[0].Subject {
				t.Fatalf("republished %d messages: %+v", len(msgs), msgs)
			}

			w.run(t, l, t.TempDir())
			var left []store.DeadLetter
			eventually(t, "the dispatcher resolves one and replaces the other", func() bool {
				left, err = l.DeadLetters(ctx, 0)
				return err == nil && len(left) == 3 && left[0].ID == rows[1].ID && left[1].ID == rows[3].ID
			})
			if again, err := events.Decode(left[2].Payload); err != nil || again.Source != events.SourceReplay ||
				again.ID != events.ReplayEventID(missing.ID, "retry-1") {
				t.Errorf("the failed retry's dead letter: %+v, %v", again, err)
			}
			if got, err := l.Contract(ctx, "default", a); err != nil || got.Status != lifecycle.Complete || !got.Confirmed {
				t.Errorf("contract after retry: %+v, %v", got, err)
			}
			st, err := w.nats.JS.Stream(ctx, w.nats.Names.DLQStream())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetMsg(ctx, ack.Sequence); err == nil {
				t.Error("the resolved dead letter's QYS_DLQ message is still there")
			}
			if _, err := r.RetryDeadLetters(ctx, rows, replay.Selector{FromSeq: 1}, true, nil); err == nil {
				t.Error("sequence bounds accepted for dead letters")
			}
		})
	}
}

// results lists "<row position>:<result>" (position counted from 1 in
// the order the rows were added).
func results(items []replay.Item) []string {
	var out []string
	first := int64(0)
	for _, it := range items {
		if first == 0 || it.DeadLetterID < first {
			first = it.DeadLetterID
		}
	}
	for _, it := range items {
		out = append(out, strconv.FormatInt(it.DeadLetterID-first+1, 10)+":"+it.Result)
	}
	return out
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
