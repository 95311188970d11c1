package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// launderChange is a change of contract cid to status at minute step,
// with one signatory and one document; subject and title empty keep the
// stored ones (a later callback changes only the status).
func launderChange(cid, status string, step int, subject, title string) store.ContractChange {
	at := time.Date(2026, 3, 1, 8, step, 0, 0, time.UTC)
	payload := []byte(`{"contractId":"` + cid + `","status":"` + status + `"}`)
	return store.ContractChange{
		Event: store.Event{ID: "ev-" + cid + "-" + status, Tenant: "default", Kind: "contract", Type: status, ContractID: cid,
			Source: "callback", ReceivedAt: at, AppliedAt: at, Payload: payload},
		Contract: store.Contract{Tenant: "default", ID: cid, Subject: subject, Status: status, UpdatedAt: at, Detail: payload,
			Documents: []store.Document{{ID: cid + "-d", Title: title}}},
	}
}

// launderProblems runs verify --log and returns its lines.
func launderProblems(t *testing.T, db *sqlstore.DB) []string {
	t.Helper()
	var out []string
	_, err := db.VerifyLog(context.Background(), store.LogVerifyOptions{PageSize: 5}, func(p store.LogProblem) {
		out = append(out, p.String())
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// handEdit runs one statement on the ledger behind qyshook's back.
func handEdit(t *testing.T, db *sqlstore.DB, stmt string) {
	t.Helper()
	if _, err := sqlstore.Writer(db).ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// wantFound checks that verify --log names what as edited outside
// qyshook (found at a commit), and nothing else.
func wantFound(t *testing.T, db *sqlstore.DB, what ...string) {
	t.Helper()
	ps := launderProblems(t, db)
	for _, w := range what {
		ok := false
		for _, p := range ps {
			if strings.HasPrefix(p, w+": edited outside qyshook before leaf ") && strings.HasSuffix(p, "(found at commit)") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("verify --log does not name %s as edited outside qyshook; it says %q", w, ps)
		}
	}
	if len(ps) != len(what) {
		t.Errorf("verify --log found %d problems, want %d: %q", len(ps), len(what), ps)
	}
}

// TestLogDoesNotLaunderHandEdits: a row edited by hand and then written
// again honestly by qyshook (a later callback changes only its status)
// must stay visible to verify --log: the commit finds the row differing
// from its last leaf and records that in the log before the row's new
// leaf. One case per write path of each mutable kind.
func TestLogDoesNotLaunderHandEdits(t *testing.T) {
	cases := []struct {
		name  string
		first func(t *testing.T, l store.Ledger)
		edits []string
		then  func(t *testing.T, l store.Ledger)
		found []string
	}{
		{
			name: "contract via ApplyContract",
			first: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C1", "SIGNING", 1, "供货合同", "正文"))
			},
			edits: []string{`UPDATE contracts SET subject = 'forged' WHERE tenant = 'default' AND id = 'C1'`},
			then: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C1", "COMPLETE", 2, "", ""))
			},
			found: []string{"contract default/C1"},
		},
		{
			name: "contract and signatory via ApplyContracts",
			first: func(t *testing.T, l store.Ledger) {
				ch := launderChange("C2", "SIGNING", 1, "供货合同", "正文")
				ch.Contract.Signatories = []store.Signatory{{ID: "C2-a", TenantType: "COMPANY", TenantName: "甲公司", Status: "SIGNING", SerialNo: 1}}
				mustApplyBatch(t, l, ch, launderChange("C3", "SIGNING", 1, "租赁合同", "正文"))
			},
			edits: []string{
				`UPDATE contracts SET subject = 'forged' WHERE tenant = 'default' AND id = 'C2'`,
				`UPDATE signatories SET tenant_name = 'forged' WHERE tenant = 'default' AND contract_id = 'C2'`,
			},
			then: func(t *testing.T, l store.Ledger) {
				before := sqlstore.Fallbacks(sqlDB(t, l))
				mustApplyBatch(t, l, launderChange("C2", "COMPLETE", 2, "", ""), launderChange("C3", "COMPLETE", 2, "", ""))
				if n := sqlstore.Fallbacks(sqlDB(t, l)); n != before {
					t.Fatalf("the batch went the one-by-one way (%d fallbacks)", n-before)
				}
			},
			found: []string{"contract default/C2"},
		},
		{
			name: "document via ApplyContracts",
			first: func(t *testing.T, l store.Ledger) {
				mustApplyBatch(t, l, launderChange("C4", "SIGNING", 1, "供货合同", "正文"))
			},
			edits: []string{`UPDATE documents SET title = 'forged' WHERE tenant = 'default' AND id = 'C4-d'`},
			then: func(t *testing.T, l store.Ledger) {
				mustApplyBatch(t, l, launderChange("C4", "COMPLETE", 2, "", ""))
			},
			found: []string{"document default/C4-d"},
		},
		{
			name: "document via ApplyContract",
			first: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C5", "SIGNING", 1, "供货合同", "正文"))
			},
			edits: []string{`UPDATE documents SET title = 'forged' WHERE tenant = 'default' AND id = 'C5-d'`},
			then: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C5", "COMPLETE", 2, "", ""))
			},
			found: []string{"document default/C5-d"},
		},
		{
			name: "document via ArchiveDocument",
			first: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C6", "COMPLETE", 1, "供货合同", "正文"))
				mustArchive(t, l, "C6", strings.Repeat("a", 64))
			},
			edits: []string{`UPDATE documents SET title = 'forged' WHERE tenant = 'default' AND id = 'C6-d'`},
			then: func(t *testing.T, l store.Ledger) {
				mustArchive(t, l, "C6", strings.Repeat("b", 64))
			},
			found: []string{"document default/C6-d"},
		},
		{
			name: "certification",
			first: func(t *testing.T, l store.Ledger) {
				mustCertify(t, l, "r1", 1, "张三", false)
			},
			edits: []string{`UPDATE certifications SET name = 'forged' WHERE tenant = 'default' AND request_id = 'r1'`},
			then: func(t *testing.T, l store.Ledger) {
				mustCertify(t, l, "r1", 2, "", true)
			},
			found: []string{"certification default/r1"},
		},
		{
			name: "dead letter",
			first: func(t *testing.T, l store.Ledger) {
				mustDeadLetter(t, l, 1)
			},
			edits: []string{`UPDATE dead_letters SET reason = 'forged' WHERE stream_seq = 77`},
			then: func(t *testing.T, l store.Ledger) {
				mustDeadLetter(t, l, 2)
			},
			found: []string{"dead_letter "}, // its id, whatever the database gave
		},
	}
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					l := testdb.Open(t, kind)
					db := sqlDB(t, l)
					c.first(t, l)
					if ps := launderProblems(t, db); len(ps) != 0 {
						t.Fatalf("problems before the edit: %q", ps)
					}
					for _, e := range c.edits {
						handEdit(t, db, e)
					}
					if ps := launderProblems(t, db); len(ps) == 0 {
						t.Fatalf("verify --log does not see the hand edit")
					}
					c.then(t, l)
					found := c.found
					if c.name == "dead letter" {
						found = []string{"dead_letter " + deadLetterID(t, db)}
					}
					wantFound(t, db, found...)
				})
			}
		})
	}
}

func deadLetterID(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	var id string
	if err := sqlstore.Writer(db).QueryRowContext(context.Background(),
		`SELECT CAST(id AS TEXT) FROM dead_letters WHERE stream_seq = 77`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return "default/" + id
}

func mustApply(t *testing.T, l store.Ledger, ch store.ContractChange) {
	t.Helper()
	if _, err := l.ApplyContract(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
}

func mustApplyBatch(t *testing.T, l store.Ledger, chs ...store.ContractChange) {
	t.Helper()
	_, errs, err := l.ApplyContracts(context.Background(), chs)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func mustArchive(t *testing.T, l store.Ledger, cid, sum string) {
	t.Helper()
	doc := store.Document{ID: cid + "-d", ContractID: cid, SHA256: sum, Size: 100, Path: "documents/" + sum[:2] + "/" + sum + ".pdf"}
	if _, err := l.ArchiveDocument(context.Background(), "default", doc, nil); err != nil {
		t.Fatal(err)
	}
}

func mustCertify(t *testing.T, l store.Ledger, req string, step int, name string, confirmed bool) {
	t.Helper()
	at := time.Date(2026, 3, 1, 9, step, 0, 0, time.UTC)
	payload := []byte(`{"requestId":"` + req + `","step":` + string(rune('0'+step)) + `}`)
	ev := store.Event{ID: "ev-" + req + "-" + string(rune('0'+step)), Tenant: "default", Kind: "auth.personal",
		Type: "PERSONAL_AUTH", Source: "callback", ReceivedAt: at, AppliedAt: at, Payload: payload}
	c := store.Certification{Tenant: "default", RequestID: req, Kind: "personal", Status: "1", Name: name,
		Confirmed: confirmed, Detail: payload, UpdatedAt: at}
	if err := l.ApplyCertification(context.Background(), ev, c); err != nil {
		t.Fatal(err)
	}
}

func mustDeadLetter(t *testing.T, l store.Ledger, deliveries int) {
	t.Helper()
	_, err := l.AddDeadLetter(context.Background(), store.DeadLetter{EventID: "bad-1", Tenant: "default",
		Consumer: "qyshook_ledger", Subject: "qys.callback.x", StreamSeq: 77, Reason: "unparsable",
		Deliveries: deliveries, Payload: []byte("junk"), CreatedAt: time.Date(2026, 3, 1, 10, deliveries, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLogFoundEditedCountedAndReported: a found-edited leaf is counted
// (FoundEdited, the app's metric) and handed to the OnFoundEdited
// function after its commit with the line verify --log gives it; a row
// written outside qyshook (no leaf: nothing to compare with) and honest
// rewrites are no finding.
func TestLogFoundEditedCountedAndReported(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			l := testdb.Open(t, kind)
			db := sqlDB(t, l)
			var got []store.LogProblem
			var ef store.LogEditFinder = db
			if _, ok := l.(store.LogEditFinder); !ok {
				t.Fatalf("ledger %T is no LogEditFinder", l)
			}
			ef.OnFoundEdited(func(p store.LogProblem) { got = append(got, p) })
			mustApply(t, l, launderChange("C1", "SIGNING", 1, "供货合同", "正文"))
			mustApplyBatch(t, l, launderChange("C1", "SIGNED", 2, "", ""))
			// A row without a leaf: inserted by hand, then written by qyshook.
			handEdit(t, db, `INSERT INTO contracts (tenant, id, biz_id, subject, status, confirmed, signed_count, updated_at, detail)
				SELECT tenant, 'C9', biz_id, subject, status, confirmed, signed_count, updated_at, detail FROM contracts WHERE id = 'C1'`)
			mustApply(t, l, launderChange("C9", "COMPLETE", 3, "", ""))
			if ps := launderProblems(t, db); len(ps) != 0 || len(got) != 0 || ef.FoundEdited() != 0 {
				t.Fatalf("honest writes: verify says %q, %d found (%v)", ps, ef.FoundEdited(), got)
			}
			handEdit(t, db, `UPDATE contracts SET subject = 'forged' WHERE tenant = 'default' AND id = 'C1'`)
			mustApplyBatch(t, l, launderChange("C1", "COMPLETE", 4, "", ""))
			if ef.FoundEdited() != 1 || len(got) != 1 {
				t.Fatalf("FoundEdited %d, reported %v; want 1", ef.FoundEdited(), got)
			}
			ps := launderProblems(t, db)
			if len(ps) != 1 || ps[0] != got[0].String() {
				t.Fatalf("reported %q, verify --log says %q", got[0], ps)
			}
			// The found leaf carries the content found; the row's own leaf follows it.
			leaves, err := l.(store.ReceiptLog).LogLeaves(context.Background(), "contract", "default", "C1", 0)
			if err != nil {
				t.Fatal(err)
			}
			i := len(leaves) - 2
			if i < 1 || leaves[i].Index != got[0].Leaf || !strings.HasSuffix(string(leaves[i].Leaf), `,"found":"edited"}`) {
				t.Fatalf("leaves of C1 %v, want the found-edited leaf %d before the last", leaves, got[0].Leaf)
			}
			if strings.Contains(string(leaves[i+1].Leaf), "found") {
				t.Fatalf("the row's new leaf is %s", leaves[i+1].Leaf)
			}
			// A later honest write finds nothing more.
			mustApply(t, l, launderChange("C1", "ARCHIVED", 5, "", ""))
			if ef.FoundEdited() != 1 || len(launderProblems(t, db)) != 1 {
				t.Fatalf("an honest write after the finding: FoundEdited %d, verify %q", ef.FoundEdited(), launderProblems(t, db))
			}
		})
	}
}

// TestLogNoFindingUnderConcurrency: the archiver (without facts, so
// holding no contract lock) and the dispatcher write the same documents
// at once; a commit must read a row's pre-image under the row's lock, or
// a write committed between that read and its own is taken for an edit.
func TestLogNoFindingUnderConcurrency(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			l := testdb.Open(t, kind)
			db := sqlDB(t, l)
			const n = 60
			for c := 0; c < 4; c++ {
				mustApply(t, l, launderChange(fmt.Sprintf("K%d", c), "SIGNING", 0, "合同", "正文"))
			}
			errs := make(chan error, 3)
			var done [3]atomic.Int64 // successful writes per writer
			for g := 0; g < 2; g++ {
				go func() { // two archivers
					for i := 1; i < n; i++ {
						c := fmt.Sprintf("K%d", i%4)
						sum := fmt.Sprintf("%062x%02d", i, g)
						doc := store.Document{ID: c + "-d", ContractID: c, SHA256: sum, Size: int64(i), Path: "documents/" + sum[:2] + "/" + sum + ".pdf"}
						_, err := l.ArchiveDocument(context.Background(), "default", doc, nil)
						if err != nil && !store.IsTransient(err) {
							errs <- err
							return
						}
						if err == nil {
							done[g].Add(1)
						}
					}
					errs <- nil
				}()
			}
			go func() { // the dispatcher: every change upserts the contract's document
				for i := 1; i < n; i++ {
					status := []string{"SIGNING", "COMPLETE"}[i/4%2]
					c := fmt.Sprintf("K%d", i%4)
					ch := launderChange(c, status, i%60, "", fmt.Sprintf("正文 %d", i))
					ch.Event.ID = fmt.Sprintf("ev-k-%d", i)
					ch.Contract.UpdatedAt = time.Date(2026, 3, 1, 9, 0, i, 0, time.UTC)
					ch.Contract.Confirmed = true
					_, _, err := l.ApplyContracts(context.Background(), []store.ContractChange{ch})
					if err != nil && !store.IsTransient(err) {
						errs <- err
						return
					}
					if err == nil {
						done[2].Add(1)
					}
				}
				errs <- nil
			}()
			for i := 0; i < 3; i++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			for w := range done {
				// A transient error (a busy SQLite, a serialisation failure)
				// may refuse a write; most must have gone through, or the
				// test shows nothing.
				if got := done[w].Load(); got < n/2 {
					t.Fatalf("writer %d: only %d of %d writes succeeded", w, got, n-1)
				}
			}
			if ps := launderProblems(t, db); len(ps) != 0 || db.FoundEdited() != 0 {
				t.Fatalf("honest concurrent writes: %d found, verify says %q", db.FoundEdited(), ps)
			}
		})
	}
}
