package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
)

// TestStartStagesStopsTheLastOnesLast: stop ends every stage but the Last
// ones first and the Last ones (the relay) only once those have returned,
// so the dispatcher's final commit is published; a stage's error comes
// back from stop.
func TestStartStagesStopsTheLastOnesLast(t *testing.T) {
	var mu sync.Mutex
	var order []string
	record := func(name string, err error) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			<-ctx.Done()
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return err
		}
	}
	boom := errors.New("boom")
	stop := app.StartStages(zerolog.Nop(), []app.Stage{
		{Name: "relay", Run: record("relay", nil), Last: true},
		{Name: "dispatcher", Run: record("dispatcher", nil)},
		{Name: "archiver", Run: record("archiver", boom)},
	})
	err := stop()
	if !errors.Is(err, boom) {
		t.Fatalf("stop() = %v, want the archiver's error", err)
	}
	if len(order) != 3 || order[2] != "relay" {
		t.Fatalf("stopped in order %v, want the relay last", order)
	}
	if err2 := stop(); !errors.Is(err2, boom) || len(order) != 3 {
		t.Fatalf("a second stop: %v, order %v", err2, order)
	}
}
