package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
)

func publishN(t *testing.T, env *natstest.Env, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		e := &events.Envelope{Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract,
			Type: "SIGNED", ContractID: fmt.Sprint(1000 + i), ReceivedAt: time.Now().UTC(), Format: "A",
			Source: events.SourceCallback, Payload: json.RawMessage(`{}`)}
		e.ID = events.EventID("default", e.Kind, e.ContractID, e.Type, "", "")
		data, _ := e.Encode()
		if _, err := env.JS.Publish(ctx, env.Names.CallbackSubject("default", e.Kind, e.Type), data); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBatchesAndRate checks the batch sizes and that every batch waits
// for the limiter (by counting, not by timing), and that messages
// published during a replay, its own included, are not picked up (the
// first case bounds by the stream's last sequence at the start, the
// others by ToSeq).
func TestBatchesAndRate(t *testing.T) {
	env := natstest.New(t)
	publishN(t, env, 150)
	cases := []struct {
		name    string
		rate    float64
		limit   int
		toSeq   uint64
		batches []int
		waits   bool
	}{
		{"Unlimited", 0, 0, 0, []int{64, 64, 22}, false},
		{"Fast", 1000, 0, 150, []int{64, 64, 22}, true},
		{"SlowRateShrinksBatches", 40, 50, 150, []int{40, 10}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(Config{JS: env.JS, Names: env.Names, Rate: tc.rate, Job: "rate-" + tc.name})
			if err != nil {
				t.Fatal(err)
			}
			if (r.wait != nil) != tc.waits {
				t.Fatalf("limiter configured: %v, want %v", r.wait != nil, tc.waits)
			}
			// Every batch passes the limiter hook before it is published;
			// without a rate the hook only counts.
			var mu sync.Mutex
			var batches []int
			wait := r.wait
			r.wait = func(ctx context.Context, n int) error {
				mu.Lock()
				first := len(batches) == 0
				batches = append(batches, n)
				mu.Unlock()
				if first {
					publishN(t, env, 1) // a live stream: not part of this replay
				}
				if wait == nil {
					return nil
				}
				return wait(ctx, n)
			}
			rep, err := r.Run(context.Background(), Selector{Limit: tc.limit, ToSeq: tc.toSeq}, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(batches, tc.batches) {
				t.Errorf("batches %v, want %v", batches, tc.batches)
			}
			total := 0
			for _, b := range tc.batches {
				total += b
			}
			if rep.Selected != total || rep.Republished != total || rep.Failed != 0 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestNewRejectsBadJob(t *testing.T) {
	for _, job := range []string{"", "a.b", "a b"} {
		if _, err := New(Config{Job: job}); err == nil {
			t.Errorf("job %q accepted", job)
		}
	}
}

func TestNewRejectsBadRate(t *testing.T) {
	for _, r := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := New(Config{Rate: r, Job: "j"}); err == nil {
			t.Errorf("rate %v accepted", r)
		}
	}
}
