package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
)

func TestProvisionIdempotentAndDedup(t *testing.T) {
	env := natstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Provision again with other limits: an update, not an error.
	s := natstest.TestStreamSettings()
	s.MaxAge = 2 * time.Hour
	if err := env.Names.Provision(ctx, env.JS, s); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	st, err := env.JS.Stream(ctx, env.Names.CallbacksStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 2*time.Hour {
		t.Fatalf("MaxAge = %v, want updated 2h", info.Config.MaxAge)
	}
	if info.Config.Duplicates != s.DuplicateWindow {
		t.Fatalf("Duplicates = %v, want %v", info.Config.Duplicates, s.DuplicateWindow)
	}
	subj := env.Names.CallbackSubject("default", events.KindContract, "COMPLETE")
	id := events.EventID("default", events.KindContract, "123", "COMPLETE", "COMPLETE", "")
	a1, err := env.JS.Publish(ctx, subj, []byte("{}"), jetstream.WithMsgID(id))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := env.JS.Publish(ctx, subj, []byte("{}"), jetstream.WithMsgID(id))
	if err != nil {
		t.Fatal(err)
	}
	if a1.Duplicate || !a2.Duplicate || a1.Sequence != a2.Sequence {
		t.Fatalf("dedup: first %+v second %+v", a1, a2)
	}
}
