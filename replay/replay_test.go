package replay_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/replay"
	"github.com/qyshook/qyshook/store"
)

// scenario publishes, in this order: 1 A SIGNED, 2 B SIGNED, 3 C COMPLETE
// (tenant acme), 4 an undecodable message, 5 A COMPLETE, 6 a personal
// certification. A and C are COMPLETE in the fake, B is SIGNING.
type scenario struct {
	w       *world
	a, b, c string
	p       []published // index i is sequence i+1
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	w := newWorld(t)
	s := &scenario{w: w, a: w.addContract(lifecycle.Complete), b: w.addContract(lifecycle.Signing),
		c: w.addContract(lifecycle.Complete)}
	s.p = append(s.p,
		w.publish(contractEnvelope("default", s.a, "SIGNED", lifecycle.Signing, "张三")),
		w.publish(contractEnvelope("default", s.b, "SIGNED", lifecycle.Signing, "王五")),
		w.publish(contractEnvelope("acme", s.c, "COMPLETE", lifecycle.Complete, "")),
		w.publishRaw(w.nats.Names.CallbackSubject("default", events.KindContract, "SIGNED"), []byte("not an envelope"), "", nil),
		w.publish(contractEnvelope("default", s.a, "COMPLETE", lifecycle.Complete, "")),
		w.publish(authEnvelope("default", "req-1", "1")),
	)
	for i, p := range s.p {
		if p.seq != uint64(i+1) {
			t.Fatalf("message %d has sequence %d", i, p.seq)
		}
	}
	return s
}

// eventIDs of the published messages with these sequences (undecodable
// ones skipped).
func (s *scenario) eventIDs(seqs ...uint64) []string {
	var out []string
	for _, seq := range seqs {
		if env := s.p[seq-1].env; env != nil {
			out = append(out, env.ID)
		}
	}
	return out
}

func (s *scenario) replayer(t *testing.T, rate float64, job string) *replay.Replayer {
	t.Helper()
	r, err := replay.New(replay.Config{JS: s.w.nats.JS, Names: s.w.nats.Names, Rate: rate, Job: job})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func itemIDs(items []replay.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.EventID)
	}
	return out
}

func TestSelectors(t *testing.T) {
	s := newScenario(t)
	r := s.replayer(t, 0, "t")
	cases := []struct {
		name        string
		sel         replay.Selector
		seqs        []uint64
		undecodable int
	}{
		{"All", replay.Selector{}, []uint64{1, 2, 3, 5, 6}, 1},
		{"Tenant", replay.Selector{Tenant: "acme"}, []uint64{3}, 0},
		{"Contract", replay.Selector{ContractID: s.a}, []uint64{1, 5}, 1},
		{"CertificationRequest", replay.Selector{ContractID: "req-1"}, []uint64{6}, 1},
		{"TypeCaseInsensitive", replay.Selector{CallbackType: "complete"}, []uint64{3, 5}, 1},
		{"TenantAndType", replay.Selector{Tenant: "default", CallbackType: "SIGNED"}, []uint64{1, 2}, 1},
		{"SeqRange", replay.Selector{FromSeq: 3, ToSeq: 5}, []uint64{3, 5}, 1},
		{"FromSeq", replay.Selector{FromSeq: 5}, []uint64{5, 6}, 0},
		{"ToSeq", replay.Selector{ToSeq: 2}, []uint64{1, 2}, 0},
		{"TimeRange", replay.Selector{Since: s.p[2].at, Until: s.p[4].at}, []uint64{3}, 1},
		{"Since", replay.Selector{Since: s.p[4].at}, []uint64{5, 6}, 0},
		{"SinceAndSeq", replay.Selector{Since: s.p[4].at, FromSeq: 2}, []uint64{5, 6}, 0},
		{"Until", replay.Selector{Until: s.p[1].at}, []uint64{1}, 0},
		{"Limit", replay.Selector{Limit: 2}, []uint64{1, 2}, 0},
		{"PastTheEnd", replay.Selector{FromSeq: 99}, nil, 0},
		{"NoMatch", replay.Selector{ContractID: "nope"}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls, lastDone, lastTotal int
			rep, err := r.Run(ctxT(t), tc.sel, true, func(done, total int) { calls, lastDone, lastTotal = calls+1, done, total })
			if err != nil {
				t.Fatal(err)
			}
			want := s.eventIDs(tc.seqs...)
			if got := itemIDs(rep.Items); !slices.Equal(got, want) {
				t.Errorf("selected %v, want %v", got, want)
			}
			for i, it := range rep.Items {
				if it.Seq != tc.seqs[i] || !it.Time.Equal(s.p[it.Seq-1].at) {
					t.Errorf("item %d: seq %d time %v, want seq %d time %v", i, it.Seq, it.Time, tc.seqs[i], s.p[tc.seqs[i]-1].at)
				}
			}
			if !rep.DryRun || rep.Selected != len(want) || rep.Republished != 0 || rep.Undecodable != tc.undecodable {
				t.Errorf("report %+v", rep)
			}
			if calls == 0 || lastDone != lastTotal || lastDone != rep.Scanned {
				t.Errorf("progress: %d calls, last %d/%d, scanned %d", calls, lastDone, lastTotal, rep.Scanned)
			}
		})
	}
}

func TestSelectorValidation(t *testing.T) {
	r, err := replay.New(replay.Config{Job: "t"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for name, sel := range map[string]replay.Selector{
		"UntilBeforeSince": {Since: now, Until: now.Add(-time.Hour)},
		"ToSeqBelowFrom":   {FromSeq: 5, ToSeq: 4},
		"NegativeLimit":    {Limit: -1},
		"BadTenant":        {Tenant: "a.b"},
	} {
		if _, err := r.Run(context.Background(), sel, true, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestReplayRepublishes: every selected event goes back on its subject
// with its own id, source replay and the replay headers; the same job
// again republishes nothing new, and earlier replays are never replayed.
func TestReplayRepublishes(t *testing.T) {
	s := newScenario(t)
	ctx := ctxT(t)
	rep, err := s.replayer(t, 0, "j1").Run(ctx, replay.Selector{FromSeq: 1}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Job != "j1" || rep.Selected != 5 || rep.Republished != 5 || rep.Undecodable != 1 || rep.Items != nil {
		t.Fatalf("report %+v", rep)
	}
	msgs, err := natstest.StreamMessages(ctx, s.w.nats.JS, s.w.nats.Names.CallbacksStream())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 11 {
		t.Fatalf("stream holds %d messages, want 6 and 5 replays", len(msgs))
	}
	var origs []published
	for _, p := range s.p {
		if p.env != nil {
			origs = append(origs, p)
		}
	}
	for i, m := range msgs[6:] {
		orig := origs[i]
		got, err := events.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		wantID := events.ReplayEventID(orig.env.ID, "j1")
		if got.ID != wantID || got.Source != events.SourceReplay || m.Header.Get("Nats-Msg-Id") != wantID ||
			m.Header.Get(events.HeaderReplay) != "j1" || m.Header.Get(events.HeaderReplayOf) != orig.env.ID ||
			m.Header.Get(events.HeaderDeadLetterID) != "" || m.Subject != msgs[orig.seq-1].Subject {
			t.Errorf("replay %d: id %s source %s subject %s headers %v", i, got.ID, got.Source, m.Subject, m.Header)
		}
		got.ID, got.Source = orig.env.ID, orig.env.Source
		if mustJSON(t, got) != mustJSON(t, orig.env) {
			t.Errorf("replay %d changed the event:\n got %s\nwant %s", i, mustJSON(t, got), mustJSON(t, orig.env))
		}
	}
	again, err := s.replayer(t, 0, "j1").Run(ctx, replay.Selector{FromSeq: 1}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Selected != 5 || again.Republished != 0 || again.Duplicates != 5 || again.SkippedReplays != 5 {
		t.Errorf("same job again: %+v", again)
	}
}

// TestReplayRebuildsWipedLedger: a dispatcher applies the stream into one
// ledger; then the service runs on a wiped ledger (its durable consumer
// has nothing left) and a replay of the range republishes the events: the
// running dispatcher rebuilds the same contracts, confirmed through the
// API, with the replays in the event history.
func TestReplayRebuildsWipedLedger(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			s := newScenario(t)
			ctx := ctxT(t)
			l1 := testdb.Open(t, kind)
			stop := s.w.run(t, l1, t.TempDir())
			eventually(t, "ledger 1 applied", func() bool {
				snap := takeSnapshot(t, l1, "default", "acme")
				return len(snap.Contracts) == 3 && len(snap.Certifications) == 1 && archived(s, l1)
			})
			stop()
			want := takeSnapshot(t, l1, "default", "acme")
			checkArchived(t, s, l1)

			l2, dir2 := testdb.Open(t, kind), t.TempDir()
			defer s.w.run(t, l2, dir2)()
			sel := replay.Selector{Since: s.p[0].at, Until: time.Now().Add(time.Minute)}
			rep, err := s.replayer(t, 0, "rebuild").Run(ctx, sel, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Selected != 5 || rep.Republished != 5 || rep.Failed != 0 || rep.Undecodable != 1 {
				t.Fatalf("report %+v", rep)
			}
			eventually(t, "ledger 2 rebuilt", func() bool {
				snap := takeSnapshot(t, l2, "default", "acme")
				return len(snap.Contracts) == 3 && len(snap.Certifications) == 1 && archived(s, l2)
			})
			got := takeSnapshot(t, l2, "default", "acme")
			for i := range got.Contracts {
				for _, e := range got.Contracts[i].Events {
					if !strings.HasSuffix(e, " "+events.SourceReplay) {
						t.Errorf("rebuilt event %q is not a replay", e)
					}
				}
				got.Contracts[i].Events, want.Contracts[i].Events = nil, nil
			}
			if mustJSON(t, got) != mustJSON(t, want) {
				t.Fatalf("rebuilt ledger differs:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
			}
			checkArchived(t, s, l2)
			for _, c := range []string{s.a, s.c} {
				tenant := map[string]string{s.a: "default", s.c: "acme"}[c]
				got, err := l2.Contract(ctx, tenant, c)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range got.Documents {
					if _, err := os.Stat(filepath.Join(dir2, d.Path)); err != nil {
						t.Errorf("document %s not archived: %v", d.ID, err)
					}
				}
			}
		})
	}
}

// archived reports whether the COMPLETE contracts have their documents.
func archived(s *scenario, l store.Ledger) bool {
	for _, c := range []struct{ tenant, id string }{{"default", s.a}, {"acme", s.c}} {
		got, err := l.Contract(context.Background(), c.tenant, c.id)
		if err != nil || got.Status != lifecycle.Complete || len(got.Documents) != 2 {
			return false
		}
		for _, d := range got.Documents {
			if d.SHA256 == "" {
				return false
			}
		}
	}
	return true
}

// checkArchived asserts the contracts' statuses and that COMPLETE ones
// have every document archived with the fake's hash.
func checkArchived(t *testing.T, s *scenario, l store.Ledger) {
	t.Helper()
	for _, c := range []struct{ tenant, id, status string }{
		{"default", s.a, lifecycle.Complete}, {"default", s.b, lifecycle.Signing}, {"acme", s.c, lifecycle.Complete},
	} {
		got, err := l.Contract(ctxT(t), c.tenant, c.id)
		if err != nil {
			t.Fatal(err)
		}
		// The archive stage fetches the documents after the commit.
		for deadline := time.Now().Add(time.Minute); c.status == lifecycle.Complete && time.Now().Before(deadline); {
			archived := len(got.Documents) > 0
			for _, d := range got.Documents {
				archived = archived && d.SHA256 != ""
			}
			if archived {
				break
			}
			time.Sleep(10 * time.Millisecond)
			if got, err = l.Contract(ctxT(t), c.tenant, c.id); err != nil {
				t.Fatal(err)
			}
		}
		if got.Status != c.status || !got.Confirmed {
			t.Errorf("%s: status %s confirmed %v, want %s confirmed", c.id, got.Status, got.Confirmed, c.status)
		}
		if c.status != lifecycle.Complete {
			continue
		}
		if len(got.Documents) != 2 {
			t.Errorf("%s: %d documents, want 2", c.id, len(got.Documents))
		}
		for _, d := range got.Documents {
			if d.SHA256 == "" || d.SHA256 != s.w.fake.DocumentSHA256(d.ID) {
				t.Errorf("%s: document %s sha256 %q, want %q", c.id, d.ID, d.SHA256, s.w.fake.DocumentSHA256(d.ID))
			}
		}
	}
}
