package bundler

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

func applyEnded(t *testing.T, l store.Ledger, id, status string) {
	t.Helper()
	_, err := l.ApplyContract(context.Background(), store.ContractChange{
		Event: store.Event{ID: "e-" + id, Tenant: "default", Kind: "contract", Type: status, ContractID: id, Source: "callback",
			ReceivedAt: time.Now(), Payload: json.RawMessage(`{"contractId":"` + id + `"}`)},
		Contract: store.Contract{Tenant: "default", ID: id, Subject: "s " + id, Status: status, Confirmed: true,
			Detail: json.RawMessage(`{"id":"` + id + `","status":"` + status + `"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRefusedContractHeldBack: with a batch of one, a contract edited by
// hand (the oldest due) is refused once, then held back, so the next
// pass builds the good contract behind it instead of refusing the same
// one for ever; once its wait is over it is tried (and refused) again,
// and the wait doubles. Without the hold the second pass refused the
// edited contract again and the good one never got a bundle.
func TestRefusedContractHeldBack(t *testing.T) {
	ctx := context.Background()
	u := testdb.URL(t, testdb.SQLite)
	l := testdb.OpenURL(t, u)
	applyEnded(t, l, "bad", "REJECTED")
	applyEnded(t, l, "good", "RECALLED")
	db, err := sql.Open("sqlite", strings.TrimPrefix(u, "sqlite://")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE contracts SET subject = 'edited by hand' WHERE id = 'bad'`); err != nil {
		t.Fatal(err)
	}
	keys, err := checkpoint.New(checkpoint.Options{Origin: "bundler.test/log", KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	head, err := l.(store.ReceiptLog).LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	note, err := keys.Sign(head)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.(store.CheckpointLog).AddCheckpoint(ctx, store.LogCheckpoint{Size: head.N, Root: hex.EncodeToString(head.Hash[:]),
		Note: note, Origin: keys.Origin(), KeyID: keys.KeyID()}, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b, err := New(Options{Ledger: l.(Ledger), DataDir: t.TempDir(), Signer: keys.Signer(), VerifierKey: keys.VerifierKey(),
		Batch: 1, Interval: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	pass := func(want PassResult) {
		t.Helper()
		got, err := b.Pass(ctx)
		if err != nil || got != want {
			t.Fatalf("pass = %+v, %v; want %+v", got, err, want)
		}
	}
	pass(PassResult{Due: 1, Refused: 1})
	pass(PassResult{Due: 2, Built: 1}) // the edited one held back: the good one's turn
	if _, err := l.(store.EvidenceStore).Bundle(ctx, "default", "good", 1); err != nil {
		t.Fatal(err)
	}
	pass(PassResult{Due: 1}) // still held
	now = now.Add(time.Minute)
	pass(PassResult{Due: 1, Refused: 1})
	now = now.Add(time.Minute)
	pass(PassResult{Due: 1}) // the wait doubled: two minutes
	now = now.Add(time.Minute)
	pass(PassResult{Due: 1, Refused: 1})
}
