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
// published during a replay are not picked up (the first case bounds by
// the stream's last sequence at the start, the others by ToSeq).
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
			r, err := New(Config{JS: env.JS, Names: env.Names, Rate: tc.rate})
			if err != nil {
				t.Fatal(err)
			}
			if (r.wait != nil) != tc.waits {
				t.Fatalf("limiter configured: %v, want %v", r.wait != nil, tc.waits)
			}
			var mu sync.Mutex
			var waits, batches []int
			if r.wait != nil {
				wait := r.wait
				r.wait = func(ctx context.Context, n int) error {
					mu.Lock()
					waits = append(waits, n)
					mu.Unlock()
					return wait(ctx, n)
				}
			}
			apply := func(ctx context.Context, envs []*events.Envelope) []error {
				if len(batches) == 0 {
					publishN(t, env, 1) // a live stream: not part of this replay
				}
				batches = append(batches, len(envs))
				return make([]error, len(envs))
			}
			rep, err := r.Run(context.Background(), Selector{Limit: tc.limit, ToSeq: tc.toSeq}, apply, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(batches, tc.batches) {
				t.Errorf("batches %v, want %v", batches, tc.batches)
			}
			if tc.waits && !slices.Equal(waits, tc.batches) {
				t.Errorf("limiter waits %v, want %v", waits, tc.batches)
			}
			total := 0
			for _, b := range tc.batches {
				total += b
			}
			if rep.Selected != total || rep.Applied != total || rep.Failed != 0 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestNewRejectsBadRate(t *testing.T) {
	for _, r := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := New(Config{Rate: r}); err == nil {
			t.Errorf("rate %v accepted", r)
		}
	}
}
