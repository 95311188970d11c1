package bundler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// staleDue is a ledger whose EvidenceDue answers what it answered
// before: a second dispatcher that listed the same due contract.
type staleDue struct {
	Ledger
	due []store.DueContract
}

func (s staleDue) EvidenceDue(context.Context, int) ([]store.DueContract, error) { return s.due, nil }

// TestTwoBuildersOneBundle: two builders on one ledger and data dir list
// the same due contract and both build it. The first records its bundle;
// the second loses the race: its error is ErrLostRace, its file is
// removed, and the recorded bundle's file on disk still hashes to the
// recorded SHA-256 (before the fix the second renamed its zip over v1.zip
// and then failed to record it, so the export answered 409 for ever).
// With the same clock both zips are the same bytes: the file is shared
// and kept. A pass that loses the race counts it as lost_race, not failed.
func TestTwoBuildersOneBundle(t *testing.T) {
	for _, same := range []bool{false, true} {
		t.Run(map[bool]string{false: "different bytes", true: "same bytes"}[same], func(t *testing.T) {
			ctx := context.Background()
			l := testdb.Open(t, testdb.SQLite)
			applyEnded(t, l, "c1", "REJECTED")
			keys := signHead(t, l, time.Now())
			dir := t.TempDir()
			at := time.Now()
			builder := func(led Ledger) *Bundler {
				o := Options{Ledger: led, DataDir: dir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey()}
				if same {
					o.Now = func() time.Time { return at }
				}
				b, err := New(o)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			b1, b2 := builder(l.(Ledger)), builder(l.(Ledger))
			due, err := l.(store.EvidenceStore).EvidenceDue(ctx, 10)
			if err != nil || len(due) != 1 {
				t.Fatalf("due = %+v, %v", due, err)
			}
			if _, err := b1.Build(ctx, due[0]); err != nil {
				t.Fatal(err)
			}
			if _, err := b2.Build(ctx, due[0]); !errors.Is(err, ErrLostRace) {
				t.Fatalf("second build = %v, want ErrLostRace", err)
			}
			rec, err := l.(store.EvidenceStore).Bundle(ctx, "default", "c1", 0)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rec.Path)))
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != rec.SHA256 {
				t.Fatalf("the recorded bundle's file hashes to %x, recorded %s: the loser overwrote it", sum, rec.SHA256)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "evidence", "default", "c1", "*"))
			if len(files) != 1 {
				t.Fatalf("files left = %v, want only the recorded bundle", files)
			}
			// A pass of a third builder that listed the contract before the
			// first recorded it: lost_race, not failed, and not held back.
			b3 := builder(staleDue{Ledger: l.(Ledger), due: due})
			if r, err := b3.Pass(ctx); err != nil || r != (PassResult{Due: 1, LostRace: 1}) {
				t.Fatalf("pass = %+v, %v; want one lost race", r, err)
			}
			if len(b3.held) != 0 {
				t.Fatalf("a lost race held the contract back: %v", b3.held)
			}
		})
	}
}

// TestTwoBuildersAtOnce: two builders pass at the same time over one
// ledger and data dir (go test -race): one bundle is recorded, and its
// file is the one recorded.
func TestTwoBuildersAtOnce(t *testing.T) {
	ctx := context.Background()
	l := testdb.Open(t, testdb.SQLite)
	for _, id := range []string{"c1", "c2", "c3"} {
		applyEnded(t, l, id, "REJECTED")
	}
	keys := signHead(t, l, time.Now())
	dir := t.TempDir()
	results := make(chan PassResult, 2)
	for range 2 {
		b, err := New(Options{Ledger: l.(Ledger), DataDir: dir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey()})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			r, err := b.Pass(ctx)
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	r1, r2 := <-results, <-results
	if r1.Built+r2.Built != 3 || r1.Failed+r2.Failed != 0 {
		t.Fatalf("passes = %+v, %+v; want three bundles built between them, none failed", r1, r2)
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		rec, err := l.(store.EvidenceStore).Bundle(ctx, "default", id, 0)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rec.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != rec.SHA256 || rec.Version != 1 {
			t.Fatalf("%s: recorded v%d %s, file hashes to %x", id, rec.Version, rec.SHA256, sum)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "evidence", "default", id, "*"))
		if len(files) != 1 {
			t.Fatalf("%s: files %v, want only the recorded one", id, files)
		}
	}
}
