package bundler

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// buildVerified passes once, opens the contract's latest bundle and
// verifies it with the log's key pinned, wanting no problem.
func buildVerified(t *testing.T, l store.Ledger, id string) (*evidence.Contents, *evidence.Result) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	keys := signHead(t, l, time.Now())
	b, err := New(Options{Ledger: l.(Ledger), DataDir: dir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := b.Pass(ctx); err != nil || r.Built != 1 {
		t.Fatalf("pass = %+v, %v; want one built", r, err)
	}
	bd, err := l.(store.EvidenceStore).Bundle(ctx, "default", id, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(bd.Path)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := evidence.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := evidence.Verify(ctx, bytes.NewReader(data), int64(len(data)), evidence.VerifyOptions{VerifierKeys: []string{keys.VerifierKey()}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Problems != 0 {
		for _, ln := range res.Lines {
			if !ln.OK {
				t.Errorf("%s: %s", ln.Item, ln.What)
			}
		}
		t.Fatalf("%d problems", res.Problems)
	}
	return c, res
}

// answerItems returns the bundle's API answers by path.
func answerItems(c *evidence.Contents) map[string]string {
	out := map[string]string{}
	for _, it := range c.Items {
		if it.Kind == evidence.KindAPIAnswer {
			out[it.Path] = string(it.Data)
		}
	}
	return out
}

// TestBundleCarriesEachAnswer: a contract confirmed SIGNING, then
// COMPLETE, then voided: its bundle carries the three detail answers that
// confirmed them, each bound to its leaf, and verifies with no problem.
// Before contract_answers the bundle carried the last answer only.
func TestBundleCarriesEachAnswer(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			l := testdb.Open(t, kind)
			applyAs(t, l, "e1", "c1", "SIGNING")
			applyAs(t, l, "e2", "c1", "COMPLETE")
			applyAs(t, l, "e3", "c1", "INVALIDED")
			c, _ := buildVerified(t, l, "c1")
			got := answerItems(c)
			if len(got) != 3 || got["api/contract-detail.json"] != `{"id":"c1","status":"INVALIDED"}` {
				t.Fatalf("answers in the bundle %v: want the three, the last at api/contract-detail.json", got)
			}
			var states []string
			for p, a := range got {
				if p != "api/contract-detail.json" && !strings.HasPrefix(p, "api/contract-detail-") {
					t.Fatalf("answer at %s", p)
				}
				states = append(states, a)
			}
			for _, st := range []string{"SIGNING", "COMPLETE"} {
				if !strings.Contains(strings.Join(states, " "), `"status":"`+st+`"`) {
					t.Fatalf("answers %v: the %s answer is missing", got, st)
				}
			}
			for _, n := range c.Summary.Notes {
				if strings.Contains(n, "not kept") {
					t.Fatalf("note %q with every answer kept", n)
				}
			}
		})
	}
}

// TestAnswerNotKeptNoted: a state confirmed before migration 0019 (its
// answer not in contract_answers) is named in a summary note, and the
// bundle still verifies.
func TestAnswerNotKeptNoted(t *testing.T) {
	u := testdb.URL(t, testdb.SQLite)
	l := testdb.OpenURL(t, u)
	applyAs(t, l, "e1", "c1", "SIGNING")
	applyAs(t, l, "e2", "c1", "COMPLETE")
	db, err := sql.Open("sqlite", strings.TrimPrefix(u, "sqlite://")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM contract_answers`); err != nil {
		t.Fatal(err)
	}
	c, _ := buildVerified(t, l, "c1")
	if got := answerItems(c); len(got) != 1 {
		t.Fatalf("answers %v: want the current one only", got)
	}
	var note string
	for _, n := range c.Summary.Notes {
		if strings.Contains(n, "not kept (before migration 0019)") {
			note = n
		}
	}
	if !strings.Contains(note, "the answer that confirmed leaf ") {
		t.Fatalf("notes %q: want one naming the leaf whose answer is not kept", c.Summary.Notes)
	}
}
