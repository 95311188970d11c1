package bundler

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

func applyEnded(t *testing.T, l store.Ledger, id, status string) { applyEndedTB(t, l, id, status) }

func applyEndedTB(t testing.TB, l store.Ledger, id, status string) {
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
	keys := signHead(t, l, time.Now())
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

// signHead signs a checkpoint of l's current log, dated at, unanchored.
func signHead(t *testing.T, l store.Ledger, at time.Time) *checkpoint.Keyring {
	return signHeadTB(t, l, at)
}

func signHeadTB(t testing.TB, l store.Ledger, at time.Time) *checkpoint.Keyring {
	t.Helper()
	ctx := context.Background()
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
		Note: note, Origin: keys.Origin(), KeyID: keys.KeyID(), CreatedAt: at}, nil); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestUnanchoredAfterMaxDelay: with time-stamping on, a due contract
// waits while its only checkpoint is unanchored; once the anchoring
// backlog is older than MaxDelay the bundle is built over the signed
// checkpoint, and its summary says so.
func TestUnanchoredAfterMaxDelay(t *testing.T) {
	ctx := context.Background()
	l := testdb.Open(t, testdb.SQLite)
	applyEnded(t, l, "c1", "REJECTED")
	signed := time.Now().Add(-time.Minute)
	keys := signHead(t, l, signed)
	now := signed.Add(time.Minute)
	b, err := New(Options{Ledger: l.(Ledger), DataDir: t.TempDir(), Signer: keys.Signer(), VerifierKey: keys.VerifierKey(),
		Anchoring: true, MaxDelay: 10 * time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := b.Pass(ctx); err != nil || r != (PassResult{Due: 1, Waiting: 1}) {
		t.Fatalf("pass before MaxDelay = %+v, %v; want waiting", r, err)
	}
	now = signed.Add(11 * time.Minute)
	if r, err := b.Pass(ctx); err != nil || r != (PassResult{Due: 1, Built: 1}) {
		t.Fatalf("pass after MaxDelay = %+v, %v; want built", r, err)
	}
	bd, err := l.(store.EvidenceStore).Bundle(ctx, "default", "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(b.o.DataDir, filepath.FromSlash(bd.Path)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := evidence.Open(f, bd.Size)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Stamps) != 0 || len(c.Summary.Notes) != 1 || !strings.Contains(c.Summary.Notes[0], "not time-stamped") {
		t.Fatalf("stamps %d, notes %q: want an unanchored bundle that says so", len(c.Stamps), c.Summary.Notes)
	}
}
