package qys

import (
	"context"
	"testing"
	"time"
)

// TestTokenWaitersWaitOutTheWindow (the reviewer's reproduction): a
// request that passed admission before the episode began and was waiting
// for its rate token went when the token came, inside the episode's
// window, and its answer could end the episode as if it were the probe.
// It must go back to waiting for admission: nothing goes in the window,
// then one probe, and the rest once the probe is answered.
func TestTokenWaitersWaitOutTheWindow(t *testing.T) {
	b, err := NewBudget(BudgetOptions{Rate: 4, Pause: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := b.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan *ticket, 4)
	for range 4 {
		go func() {
			tk, err := b.acquire(ctx)
			if err == nil {
				sent <- tk
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // they are past admit, waiting for tokens
	b.answered(first, ErrRateLimited, 0)
	start := time.Now()
	select {
	case tk := <-sent:
		t.Fatalf("sent %v after the 429, inside a 2 s window (probe=%v)", time.Since(start).Round(time.Millisecond), tk.probe)
	case <-time.After(1500 * time.Millisecond):
	}
	var probe *ticket
	select {
	case probe = <-sent:
	case <-time.After(3 * time.Second):
		t.Fatal("no probe after the window")
	}
	if !probe.probe {
		t.Fatal("the first request after the window is not the probe")
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("the probe went %v after the 429, inside the 2 s window", d)
	}
	select {
	case tk := <-sent:
		t.Fatalf("a request (probe=%v) went while the probe was under way", tk.probe)
	case <-time.After(300 * time.Millisecond):
	}
	b.answered(probe, nil, 0)
	for i := range 3 {
		select {
		case tk := <-sent:
			b.answered(tk, nil, 0)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 3 requests went after the probe's answer", i)
		}
	}
	if st := b.Stats(); st.Limited {
		t.Fatalf("still limited after the probe's answer: %+v", st)
	}
}
