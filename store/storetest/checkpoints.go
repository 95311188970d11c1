package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

func checkpointLog(t *testing.T, l store.Ledger) store.CheckpointLog {
	t.Helper()
	c, ok := l.(store.CheckpointLog)
	if !ok {
		t.Fatalf("%T does not implement store.CheckpointLog", l)
	}
	return c
}

// testCheckpoints: a checkpoint is stored once per size with its facts in
// the same transaction; stamps are stored once per authority and count
// it anchored; the reads list newest first with stamps, the unanchored
// oldest first; the stats follow.
func testCheckpoints(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	c := checkpointLog(t, l)
	if st, err := c.CheckpointStats(ctx); err != nil || st.Latest != nil || st.LatestAnchored != nil || st.Unanchored != 0 {
		t.Fatalf("empty stats %+v, %v", st, err)
	}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	cp := func(size int64) store.LogCheckpoint {
		return store.LogCheckpoint{Size: size, Root: fmt.Sprintf("%064x", size), Note: []byte(fmt.Sprintf("o\n%d\nroot\n\n— o sig\n", size)),
			Origin: "o", KeyID: "0a0b0c0d", CreatedAt: at.Add(time.Duration(size) * time.Minute)}
	}
	fact := func(size int64) []store.Fact {
		return []store.Fact{{ID: fmt.Sprintf("checkpoint-%d", size), Subject: "qys.ledger." + tenant + ".log.checkpoint",
			Tenant: tenant, Payload: []byte(`{"size":` + fmt.Sprint(size) + `}`)}}
	}
	for _, size := range []int64{3, 5, 9} {
		if err := c.AddCheckpoint(ctx, cp(size), fact(size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddCheckpoint(ctx, cp(5), []store.Fact{{ID: "another", Subject: "x"}}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second checkpoint of size 5: %v", err)
	}
	if err := c.AddCheckpoint(ctx, store.LogCheckpoint{Size: 7}, nil); err == nil {
		t.Fatal("a checkpoint without a note was stored")
	}
	out, err := l.Outbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[0].ID != "checkpoint-3" || out[2].ID != "checkpoint-9" {
		t.Fatalf("outbox %+v: want the three checkpoint facts (not the duplicate's)", out)
	}
	stamp := func(size int64, url string) store.LogStamp {
		return store.LogStamp{Size: size, TSAURL: url, Token: []byte("token " + url), Certs: "-----BEGIN CERTIFICATE-----\n",
			GenTime: at.Add(time.Duration(size)*time.Minute + time.Second), Serial: "42", StampedAt: at.Add(time.Hour)}
	}
	if err := c.AddStamp(ctx, stamp(3, "http://a")); err != nil {
		t.Fatal(err)
	}
	if err := c.AddStamp(ctx, stamp(3, "http://b")); err != nil {
		t.Fatal(err)
	}
	if err := c.AddStamp(ctx, stamp(3, "http://a")); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("repeated stamp: %v", err)
	}
	if err := c.AddStamp(ctx, stamp(4, "http://a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stamp of no checkpoint: %v", err)
	}
	un, err := c.UnanchoredCheckpoints(ctx, 0)
	if err != nil || len(un) != 2 || un[0].Size != 5 || un[1].Size != 9 {
		t.Fatalf("unanchored %+v, %v", un, err)
	}
	st, err := c.CheckpointStats(ctx)
	if err != nil || st.Latest.Size != 9 || st.LatestAnchored.Size != 3 || st.Unanchored != 2 ||
		st.OldestUnanchored == nil || !st.OldestUnanchored.Equal(cp(5).CreatedAt) {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if err := c.AddStamp(ctx, stamp(9, "http://a")); err != nil {
		t.Fatal(err)
	}
	all, err := c.Checkpoints(ctx, store.CheckpointFilter{})
	if err != nil || len(all) != 3 || all[0].Size != 9 || all[2].Size != 3 {
		t.Fatalf("checkpoints %+v, %v", all, err)
	}
	got := all[2]
	want := cp(3)
	if got.Root != want.Root || string(got.Note) != string(want.Note) || got.Origin != "o" || got.KeyID != "0a0b0c0d" ||
		!got.CreatedAt.Equal(want.CreatedAt) || len(got.Stamps) != 2 || !got.Anchored() {
		t.Fatalf("checkpoint 3 = %+v", got)
	}
	s0 := got.Stamps[0]
	if s0.TSAURL != "http://a" || string(s0.Token) != "token http://a" || s0.Serial != "42" || s0.Certs != stamp(3, "").Certs ||
		!s0.GenTime.Equal(stamp(3, "").GenTime) {
		t.Fatalf("stamp = %+v", s0)
	}
	page, err := c.Checkpoints(ctx, store.CheckpointFilter{BeforeSize: 9, Limit: 1})
	if err != nil || len(page) != 1 || page[0].Size != 5 || page[0].Anchored() {
		t.Fatalf("page %+v, %v", page, err)
	}
	one, err := c.Checkpoint(ctx, 9)
	if err != nil || one.Size != 9 || len(one.Stamps) != 1 {
		t.Fatalf("checkpoint 9 = %+v, %v", one, err)
	}
	if _, err := c.Checkpoint(ctx, 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("checkpoint 4: %v", err)
	}
	st, err = c.CheckpointStats(ctx)
	if err != nil || st.Latest.Size != 9 || st.LatestAnchored.Size != 9 || st.Unanchored != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
}
