package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// TestEvidenceQueueProbesContracts: the evidence queue statement the
// receipt log runs in every commit finds each leaf's contract by its key
// (an index probe per row, of the document first for document leaves),
// never by reading the tenant's contracts, even on a PostgreSQL ledger
// whose statistics were never gathered (a fresh or fast-growing one).
// Before, a join from the VALUES list let PostgreSQL scan the whole of
// contracts on every commit (5.7 ms for 64 rows at 20,000 contracts).
// Plans, not times, are asserted.
func TestEvidenceQueueProbesContracts(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			l := testdb.Open(t, kind)
			base := time.Now().UTC()
			var triples, docTriples []any
			for n := 0; n < 20; n++ {
				chs := make([]store.ContractChange, 100)
				for j := range chs {
					i := n*100 + j
					cid := fmt.Sprintf("C%d", i)
					chs[j] = store.ContractChange{
						Event: store.Event{ID: fmt.Sprintf("ev-%d", i), Tenant: "default", Kind: "contract", Type: "COMPLETE",
							ContractID: cid, Source: "callback", ReceivedAt: base, Payload: []byte(`{}`)},
						Contract: store.Contract{Tenant: "default", ID: cid, Subject: "s", Status: "COMPLETE", Confirmed: true, UpdatedAt: base,
							Signatories: []store.Signatory{{ID: cid + "-a", TenantType: "COMPANY", TenantName: "甲公司", Status: "SIGNED", SerialNo: 1}},
							Documents:   []store.Document{{ID: cid + "-d", Title: "正文"}}},
					}
					if n == 19 && j < 64 {
						triples = append(triples, "default", cid, int64(i))
						docTriples = append(docTriples, "default", cid+"-d", int64(i))
					}
				}
				if _, _, err := l.ApplyContracts(ctx, chs); err != nil {
					t.Fatal(err)
				}
			}
			db := sqlDB(t, l)
			qe, qeArgs := sqlstore.QueueEvidenceSQL(db, receiptlog.KindContract, 64)
			qd, _ := sqlstore.QueueEvidenceSQL(db, receiptlog.KindDocument, 64)
			for _, c := range []struct {
				name, sql string
				args      []any
			}{
				{"contract leaves", qe, append(append([]any{}, triples...), qeArgs...)},
				{"document leaves", qd, append(append([]any{}, docTriples...), qeArgs...)},
			} {
				text := explainPlan(t, db, kind, c.sql, c.args)
				t.Logf("%s:\n%s", c.name, text)
				for _, table := range []string{"contracts", "documents"} {
					// PostgreSQL: a sequential scan, or a bitmap scan on the
					// tenant alone; SQLite: SCAN instead of SEARCH.
					if strings.Contains(text, "Seq Scan on "+table) || strings.Contains(text, "Bitmap Heap Scan on "+table) ||
						strings.Contains(text, "SCAN "+table) || strings.Contains(text, "SCAN c\n") || strings.Contains(text, "SCAN d\n") {
						t.Errorf("queueing the contracts of 64 %s reads %s beyond their keys:\n%s", c.name, table, text)
					}
				}
				if kind == testdb.Postgres && !strings.Contains(text, "Index Scan using contracts_pkey") {
					t.Errorf("queueing the contracts of 64 %s does not probe contracts_pkey:\n%s", c.name, text)
				}
			}
		})
	}
}

func explainPlan(t *testing.T, db *sqlstore.DB, kind testdb.Kind, query string, args []any) string {
	t.Helper()
	explain := "EXPLAIN QUERY PLAN "
	if kind == testdb.Postgres {
		explain = "EXPLAIN "
	}
	rs, err := sqlstore.Writer(db).QueryContext(context.Background(), explain+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var plan []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
