package delivery

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestRecorderKeepsEveryAttempt: attempts added from many workers, more
// than one batch, are all written, each once, the last ones when the
// stage stops; and attempts added after the writer ended, more than it
// holds, never block their worker (before, the 4097th waited forever, and
// with it the runner's stop and the stage's shutdown).
func TestRecorderKeepsEveryAttempt(t *testing.T) {
	es := testdb.Open(t, testdb.SQLite).(store.EndpointStore)
	r := newRecorder(es, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	const workers, each = 8, 150 // past recordBatch
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.add(store.EndpointAttempt{EndpointID: "ep", FactID: fmt.Sprintf("f-%d-%d", w, i), Attempt: 1,
					At: time.Now(), Status: 204})
			}
		})
	}
	wg.Wait()
	cancel()
	<-done
	added := make(chan struct{})
	go func() {
		defer close(added)
		for range recordPending + 1 {
			r.add(store.EndpointAttempt{EndpointID: "ep", FactID: "late", Attempt: 1, At: time.Now()})
		}
	}()
	select {
	case <-added:
	case <-time.After(30 * time.Second):
		t.Fatal("add blocked after the writer ended")
	}
	atts, err := es.EndpointAttempts(context.Background(), store.EndpointAttemptFilter{EndpointID: "ep"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range atts {
		if seen[a.FactID] {
			t.Fatalf("attempt of %s written twice", a.FactID)
		}
		seen[a.FactID] = true
	}
	if len(atts) != workers*each {
		t.Fatalf("%d attempts written, want %d", len(atts), workers*each)
	}
}
