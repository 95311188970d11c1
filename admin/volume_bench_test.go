package admin

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// BenchmarkContracts10k measures the console's contract queries over
// 10,000 contracts, on SQLite and PostgreSQL: the first page with the
// total, a date range with the total, and a prefix search (issue 21 wants
// each under 200 ms; measured here, not asserted).
//
//	go test ./admin -run '^$' -bench Contracts10k -benchtime 20x
func BenchmarkContracts10k(b *testing.B) {
	for _, kind := range testdb.Kinds() {
		b.Run(string(kind), func(b *testing.B) {
			f := newFixtureKind(b, kind)
			seed10k(b, f.ledger)
			mid := base.Add(5000 * time.Minute).Format(time.RFC3339)
			to := base.Add(5100 * time.Minute).Format(time.RFC3339)
			for _, q := range []struct{ name, path string }{
				{"page+total", "/contracts?limit=50&total=true"},
				{"dates+total", "/contracts?limit=50&total=true&updated_since=" + mid + "&updated_before=" + to},
				{"prefix+total", "/contracts?limit=50&total=true&id_prefix=31000042"},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						var p adminapi.ContractPage
						if st := f.get(b, viewerToken, q.path, &p); st != http.StatusOK || p.Total == nil {
							b.Fatalf("%s: %d", q.path, st)
						}
					}
				})
			}
		})
	}
}

// seed10k writes 10,000 contracts (ids 31000000…31009999, a minute apart).
func seed10k(b *testing.B, l store.Ledger) {
	b.Helper()
	ctx := context.Background()
	for i := range 10_000 {
		id := fmt.Sprintf("310%05d", i)
		if _, err := l.ApplyContract(ctx, store.ContractChange{
			Event: store.Event{ID: "ev-" + id, Tenant: "default", Kind: "contract", Type: "SIGNING", ContractID: id, Source: "callback",
				ReceivedAt: base, Payload: []byte(`{}`)},
			Contract: store.Contract{Tenant: "default", ID: id, Subject: "合同 " + id, Status: "SIGNING", Confirmed: true,
				UpdatedAt: base.Add(time.Duration(i) * time.Minute)},
		}); err != nil {
			b.Fatal(err)
		}
	}
}
