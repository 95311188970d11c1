package bundler

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// checkpointAfterRead is the ledger whose first CheckpointStats comes
// after something else was committed and a newer checkpoint signed: the
// race between reading a contract's rows and picking the checkpoint.
type checkpointAfterRead struct {
	Ledger
	once func()
}

func (c *checkpointAfterRead) CheckpointStats(ctx context.Context) (store.CheckpointStats, error) {
	if c.once != nil {
		f := c.once
		c.once = nil
		f()
	}
	return c.Ledger.CheckpointStats(ctx)
}

// TestCheckpointNewerThanTheRead: a checkpoint signed after the rows were
// read may cover a leaf of the contract committed meanwhile (a document
// archived), which the bundle would not carry while SaveBundle took the
// contract off the queue for every leaf below that checkpoint: the
// contract was then never bundled again (found by review with a store
// probe). Build now waits for the next pass, which builds it.
func TestCheckpointNewerThanTheRead(t *testing.T) {
	ctx := context.Background()
	l := testdb.Open(t, testdb.SQLite)
	applyEnded(t, l, "c1", "REJECTED")
	keys := signHead(t, l, time.Now())
	sign := func() {
		head, err := l.(store.ReceiptLog).LogHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		note, err := keys.Sign(head)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.(store.CheckpointLog).AddCheckpoint(ctx, store.LogCheckpoint{Size: head.N, Root: hex.EncodeToString(head.Hash[:]),
			Note: note, Origin: keys.Origin(), KeyID: keys.KeyID(), CreatedAt: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
	}
	led := &checkpointAfterRead{Ledger: l.(Ledger), once: func() {
		applyEnded(t, l, "c2", "RECALLED") // committed after c1's rows were read
		sign()
	}}
	b, err := New(Options{Ledger: led, DataDir: t.TempDir(), Signer: keys.Signer(), VerifierKey: keys.VerifierKey(),
		Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	due, err := l.(store.EvidenceStore).EvidenceDue(ctx, 0)
	if err != nil || len(due) != 1 || due[0].ID != "c1" {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if _, err := b.Build(ctx, due[0]); !errors.Is(err, ErrWaiting) {
		t.Fatalf("build over a checkpoint newer than the read = %v, want ErrWaiting", err)
	}
	if got, err := b.Build(ctx, due[0]); err != nil || got.Version != 1 {
		t.Fatalf("next build = %+v, %v", got, err)
	}
}
