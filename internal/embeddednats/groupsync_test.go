package embeddednats

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupSyncJoinsWaitersIntoOneFlush: callers arriving while a flush
// runs are served together by the next flush, never by the running one
// (it may have started before their writes).
func TestGroupSyncJoinsWaitersIntoOneFlush(t *testing.T) {
	entered := make(chan int, 10)
	release := make(chan struct{})
	var flushes atomic.Int32
	g := NewGroupSync(func() error {
		n := int(flushes.Add(1))
		entered <- n
		<-release
		return nil
	})
	first := make(chan error, 1)
	go func() { first <- g.Sync(context.Background()) }()
	if n := <-entered; n != 1 {
		t.Fatalf("flush %d, want 1", n)
	}
	// Flush 1 runs. These callers must wait for flush 2.
	const late = 20
	var wg sync.WaitGroup
	lateDone := make(chan int, late)
	for i := 0; i < late; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Sync(context.Background()); err != nil {
				t.Error(err)
			}
			lateDone <- int(flushes.Load())
		}()
	}
	for g.Stats().Waits < 1+late {
		time.Sleep(time.Millisecond)
	}
	release <- struct{}{} // end flush 1
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := <-entered; n != 2 {
		t.Fatalf("flush %d, want 2", n)
	}
	select {
	case n := <-lateDone:
		t.Fatalf("a caller that arrived during flush 1 returned before flush 2 ended (flushes %d)", n)
	default:
	}
	close(release)
	wg.Wait()
	close(lateDone)
	for n := range lateDone {
		if n < 2 {
			t.Fatalf("returned after %d flushes, want 2", n)
		}
	}
	// A caller counted in Waits may join its round just after flush 2
	// was taken: then a third flush serves it.
	if st := g.Stats(); st.Rounds < 2 || st.Rounds > 3 || st.Waits != 1+late || st.Failed != 0 {
		t.Fatalf("stats %+v, want 2 or 3 rounds for %d waits", st, 1+late)
	}
}

// TestGroupSyncFailure: a failed flush fails every caller of its round
// (ErrSync), and the next round is tried afresh.
func TestGroupSyncFailure(t *testing.T) {
	fail := errors.New("EIO")
	var calls atomic.Int32
	g := NewGroupSync(func() error {
		if calls.Add(1) == 1 {
			return fail
		}
		return nil
	})
	err := g.Sync(context.Background())
	if !errors.Is(err, ErrSync) || !errors.Is(err, fail) {
		t.Fatalf("err %v, want ErrSync wrapping the flush error", err)
	}
	// Final: the pages that failed may be gone, so a later flush that
	// succeeds proves nothing. No flush is even tried.
	if err := g.Sync(context.Background()); !errors.Is(err, ErrSync) || !errors.Is(err, fail) {
		t.Fatalf("after a failure: %v, want the first failure again", err)
	}
	if !errors.Is(g.Err(), ErrSync) {
		t.Fatalf("Err %v", g.Err())
	}
	if st := g.Stats(); st.Failed != 1 || st.Rounds != 1 || calls.Load() != 1 {
		t.Fatalf("stats %+v, %d flushes", st, calls.Load())
	}
}

// TestGroupSyncFailureFailsTheNextRound: callers that joined while the
// failing flush ran are not released by a later flush either.
func TestGroupSyncFailureFailsTheNextRound(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	g := NewGroupSync(func() error {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-release
			return errors.New("EIO")
		}
		return nil
	})
	first := make(chan error, 1)
	go func() { first <- g.Sync(context.Background()) }()
	<-entered
	second := make(chan error, 1)
	go func() { second <- g.Sync(context.Background()) }()
	for g.Stats().Waits < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-first; !errors.Is(err, ErrSync) {
		t.Fatalf("first: %v", err)
	}
	if err := <-second; !errors.Is(err, ErrSync) {
		t.Fatalf("second (joined during the failed flush): %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d flushes after a failure", calls.Load())
	}
}

// TestGroupSyncClose: Close waits for a running flush, flushes once more,
// and later calls fail with ErrSyncClosed.
func TestGroupSyncClose(t *testing.T) {
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var calls atomic.Int32
	g := NewGroupSync(func() error {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-release
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- g.Sync(context.Background()) }()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- g.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned during a flush: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d flushes, want the caller's and Close's", calls.Load())
	}
	if err := g.Sync(context.Background()); !errors.Is(err, ErrSyncClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestGroupSyncContext: a caller whose context ends stops waiting; the
// flush goes on for the others.
func TestGroupSyncContext(t *testing.T) {
	release := make(chan struct{})
	g := NewGroupSync(func() error { <-release; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Sync(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	close(release)
	if err := g.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestNilGroupSync: a nil GroupSync (the store syncs by itself) waits
// for nothing.
func TestNilGroupSync(t *testing.T) {
	var g *GroupSync
	if err := g.Sync(context.Background()); err != nil || g.Stats() != (SyncStats{}) {
		t.Fatal(err)
	}
}
