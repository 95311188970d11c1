package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// TestFakePruneRowsDoNotHideDeletions: rows deleted by hand, with
// log_pruned rows inserted by hand that name leaves which are not prune
// leaves of their kind, are reported deleted (verify took any log_pruned
// row as the record of a deletion: 0 problems).
func TestFakePruneRowsDoNotHideDeletions(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			f := newLogFixture(t, kind, 4)
			ctx := context.Background()
			w := sqlstore.Writer(f.db)
			q := func(s string) string {
				if kind == testdb.Postgres {
					return numbered(s)
				}
				return s
			}
			var ev, evTenant, cid, cTenant string
			if err := w.QueryRowContext(ctx, `SELECT id, tenant FROM events ORDER BY id DESC LIMIT 1`).Scan(&ev, &evTenant); err != nil {
				t.Fatal(err)
			}
			if err := w.QueryRowContext(ctx, `SELECT id, tenant FROM contracts ORDER BY id LIMIT 1`).Scan(&cid, &cTenant); err != nil {
				t.Fatal(err)
			}
			for _, st := range [][]any{
				{`DELETE FROM events WHERE id = ?`, ev},
				{`INSERT INTO log_pruned (kind, tenant, ref, leaf_idx) VALUES ('event', ?, ?, 0)`, evTenant, ev},
				{`DELETE FROM signatories WHERE contract_id = ?`, cid},
				{`DELETE FROM contracts WHERE id = ?`, cid},
				{`INSERT INTO log_pruned (kind, tenant, ref, leaf_idx) VALUES ('contract', ?, ?, 1)`, cTenant, cid},
			} {
				if _, err := w.ExecContext(ctx, q(st[0].(string)), st[1:]...); err != nil {
					t.Fatal(st, err)
				}
			}
			ps, _ := f.verify(t)
			var named []string
			for _, p := range ps {
				named = append(named, p.String())
			}
			all := strings.Join(named, "\n")
			for _, want := range []string{"event " + evTenant + "/" + ev + ": deleted", "contract " + cTenant + "/" + cid + ": deleted"} {
				if !strings.Contains(all, want) {
					t.Errorf("no %q among the problems:\n%s", want, all)
				}
			}
		})
	}
}
