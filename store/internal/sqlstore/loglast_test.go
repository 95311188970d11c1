package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// TestLastLeavesProbeTheIndex: the statement a commit runs to read the
// last leaf of each row it wrote (lastLeafHashes) probes log_leaves_ref
// per row, never reads the whole log, even on a PostgreSQL log whose
// statistics were never gathered (a fresh or fast-growing one: the old
// join with a GROUP BY hashed all of log_leaves on every commit there).
// Plans, not times, are asserted.
func TestLastLeavesProbeTheIndex(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			l := testdb.Open(t, kind)
			base := time.Now().UTC()
			var refs []any
			for n := 0; n < 20; n++ {
				chs := make([]store.ContractChange, 100)
				for j := range chs {
					i := n*100 + j
					cid := fmt.Sprintf("C%d", i)
					chs[j] = store.ContractChange{
						Event: store.Event{ID: fmt.Sprintf("ev-%d", i), Tenant: "default", Kind: "contract", Type: "SIGNING",
							ContractID: cid, Source: "callback", ReceivedAt: base, Payload: []byte(`{}`)},
						Contract: store.Contract{Tenant: "default", ID: cid, Subject: "s", Status: "SIGNING", Confirmed: true, UpdatedAt: base},
					}
					if n == 19 && j < 64 {
						refs = append(refs, "contract", "default", cid)
					}
				}
				if _, _, err := l.ApplyContracts(ctx, chs); err != nil {
					t.Fatal(err)
				}
			}
			db := sqlDB(t, l)
			explain := "EXPLAIN QUERY PLAN "
			if kind == testdb.Postgres {
				explain = "EXPLAIN "
			}
			rs, err := sqlstore.Writer(db).QueryContext(ctx, explain+sqlstore.LastLeavesSQL(db, 64), refs...)
			if err != nil {
				t.Fatal(err)
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
			text := strings.Join(plan, "\n")
			t.Logf("plan:\n%s", text)
			if strings.Contains(text, "Seq Scan on log_leaves") || strings.Contains(text, "SCAN l\n") ||
				strings.HasSuffix(text, "SCAN l") || strings.Contains(text, "SCAN log_leaves") {
				t.Fatalf("reading the last leaves of 64 rows scans the log:\n%s", text)
			}
			if !strings.Contains(text, "log_leaves_ref") {
				t.Fatalf("the plan does not use log_leaves_ref:\n%s", text)
			}
		})
	}
}
