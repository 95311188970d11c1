package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	s.MaxAge, s.CallbackMaxAge = 2*time.Hour, 2*time.Hour
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

// TestCallbackStreamFullRefusesNew: a full callback stream refuses the
// next message instead of dropping the oldest, and every message it
// acknowledged is still there.
func TestCallbackStreamFullRefusesNew(t *testing.T) {
	env := natstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names, err := events.NewNames(natstest.RandomNamespace())
	if err != nil {
		t.Fatal(err)
	}
	s := natstest.TestStreamSettings()
	s.MaxBytes = 8 << 10
	if err := names.Provision(ctx, env.JS, s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range names.StreamConfigs(s) {
			_ = env.JS.DeleteStream(context.Background(), c.Name)
		}
	})
	subj := names.CallbackSubject("default", events.KindContract, "COMPLETE")
	var acked []uint64
	var refused error
	for i := 0; i < 1000 && refused == nil; i++ {
		ack, err := env.JS.Publish(ctx, subj, make([]byte, 512), jetstream.WithMsgID(fmt.Sprint("m", i)))
		if err != nil {
			refused = err
			break
		}
		acked = append(acked, ack.Sequence)
	}
	if refused == nil {
		t.Fatalf("a stream of %d bytes took %d messages of 512 bytes: old ones were dropped", s.MaxBytes, len(acked))
	}
	var apiErr *jetstream.APIError
	if !errors.As(refused, &apiErr) || !strings.Contains(apiErr.Description, "maximum bytes") {
		t.Fatalf("refusal %v, want the stream's maximum bytes error", refused)
	}
	st, err := env.JS.Stream(ctx, names.CallbacksStream())
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range acked {
		if _, err := st.GetMsg(ctx, seq); err != nil {
			t.Fatalf("acknowledged message %d is gone: %v", seq, err)
		}
	}
}

// TestProvisionUpdatesAndNeverLowers: an existing callback stream that
// discards old messages is switched to DiscardNew at start; a configured
// limit lower than the live one is kept (and reported), a higher one is
// applied.
func TestProvisionUpdatesAndNeverLowers(t *testing.T) {
	env := natstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := env.Names.CallbacksStream()
	st, err := env.JS.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	old := st.CachedInfo().Config
	old.Discard = jetstream.DiscardOld // as provisioned by earlier versions
	old.MaxMsgs = 1000
	if _, err := env.JS.UpdateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	s := natstest.TestStreamSettings()
	s.MaxAge, s.CallbackMaxAge = 30*time.Minute, 2*time.Hour // lower ledger age, higher callback age
	kept, err := env.Names.ProvisionKept(ctx, env.JS, s)
	if err != nil {
		t.Fatal(err)
	}
	info := func(stream string) jetstream.StreamConfig {
		st, err := env.JS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config
	}
	cb := info(name)
	if cb.Discard != jetstream.DiscardNew {
		t.Errorf("callback stream discard = %v, want DiscardNew", cb.Discard)
	}
	if cb.MaxAge != 2*time.Hour {
		t.Errorf("callback stream max age = %v, want raised to 2h", cb.MaxAge)
	}
	if cb.MaxMsgs != -1 {
		t.Errorf("callback stream max msgs = %d, want raised to unlimited", cb.MaxMsgs)
	}
	if got := info(env.Names.LedgerStream()).MaxAge; got != time.Hour {
		t.Errorf("ledger stream max age = %v, want the live 1h kept", got)
	}
	var found bool
	for _, k := range kept {
		if k.Stream == env.Names.LedgerStream() && k.Limit == "max_age" && k.Live == "1h0m0s" && k.Configured == "30m0s" {
			found = true
		}
		if k.Stream == name {
			t.Errorf("callback stream: kept %+v, nothing was lowered there", k)
		}
	}
	if !found {
		t.Errorf("kept = %+v, want the ledger stream's max_age", kept)
	}
}
