package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// TestLogDoesNotLaunderHandDeletes: a row deleted by hand and then
// created again by qyshook (the next callback of the contract, the next
// certification result) must stay visible to verify --log. Before, the
// new row got a leaf of its own, the row matched its last leaf again and
// verify --log found nothing: the deletion laundered. Now the commit that
// creates a row the log already holds a leaf of appends a found-deleted
// leaf first. One case per write path that creates contracts and
// documents (qyshook never deletes either). Certifications are not
// covered yet: their write path cannot tell its own insert from a
// concurrent dispatcher's on PostgreSQL (docs/evidence.md).
func TestLogDoesNotLaunderHandDeletes(t *testing.T) {
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
			edits: []string{`DELETE FROM documents WHERE tenant = 'default' AND contract_id = 'C1'`,
				`DELETE FROM contracts WHERE tenant = 'default' AND id = 'C1'`},
			then: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C1", "COMPLETE", 2, "供货合同", "正文"))
			},
			found: []string{"contract default/C1", "document default/C1-d"},
		},
		{
			name: "contract via ApplyContracts",
			first: func(t *testing.T, l store.Ledger) {
				mustApplyBatch(t, l, launderChange("C2", "SIGNING", 1, "供货合同", "正文"), launderChange("C3", "SIGNING", 1, "租赁合同", "正文"))
			},
			edits: []string{`DELETE FROM documents WHERE tenant = 'default' AND contract_id = 'C2'`,
				`DELETE FROM contracts WHERE tenant = 'default' AND id = 'C2'`},
			then: func(t *testing.T, l store.Ledger) {
				mustApplyBatch(t, l, launderChange("C2", "COMPLETE", 2, "供货合同", "正文"), launderChange("C3", "COMPLETE", 2, "", ""))
			},
			found: []string{"contract default/C2", "document default/C2-d"},
		},
		{
			name: "document via ApplyContract",
			first: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C5", "SIGNING", 1, "供货合同", "正文"))
			},
			edits: []string{`DELETE FROM documents WHERE tenant = 'default' AND id = 'C5-d'`},
			then: func(t *testing.T, l store.Ledger) {
				mustApply(t, l, launderChange("C5", "COMPLETE", 2, "", "正文"))
			},
			found: []string{"document default/C5-d"},
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
						t.Fatalf("problems before the delete: %q", ps)
					}
					for _, e := range c.edits {
						handEdit(t, db, e)
					}
					if ps := launderProblems(t, db); len(ps) == 0 {
						t.Fatalf("verify --log does not see the hand delete")
					}
					before := db.FoundEdited()
					c.then(t, l)
					wantDeleted(t, db, c.found...)
					if n := db.FoundEdited() - before; n != int64(len(c.found)) {
						t.Errorf("%d found leaves counted, want %d", n, len(c.found))
					}
				})
			}
		})
	}
}

// wantDeleted checks that verify --log names what as deleted outside
// qyshook (found at a commit), and nothing else.
func wantDeleted(t *testing.T, db *sqlstore.DB, what ...string) {
	t.Helper()
	ps := launderProblems(t, db)
	for _, w := range what {
		ok := false
		for _, p := range ps {
			if strings.HasPrefix(p, w+": deleted outside qyshook before leaf ") && strings.HasSuffix(p, "(found at commit)") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("verify --log does not name %s as deleted outside qyshook; it says %q", w, ps)
		}
	}
	if len(ps) != len(what) {
		t.Errorf("verify --log found %d problems, want %d: %q", len(ps), len(what), ps)
	}
}
