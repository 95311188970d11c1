package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestContractByIDInEveryTenant: ?id= without a tenant finds the contract
// in every tenant that has it (the primary key probed per tenant, the
// tenants found by a loose scan), and ?biz_id= finds contracts through the
// partial index, never those without a business id.
func TestContractByIDInEveryTenant(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			l := testdb.Open(t, kind)
			for i, c := range []struct{ tenant, id, biz string }{
				{"a", "x", "b-1"}, {"b", "x", ""}, {"c", "y", "b-1"}, {"d", "x", "b-2"}, {"d", "z", ""},
			} {
				ch := store.ContractChange{
					Event:    store.Event{ID: "ev" + string(rune('0'+i)), Tenant: c.tenant, Kind: "contract", Type: "SIGNING", ContractID: c.id},
					Contract: store.Contract{Tenant: c.tenant, ID: c.id, BizID: c.biz, Status: "SIGNING", Confirmed: true},
				}
				if _, err := l.ApplyContract(ctx, ch); err != nil {
					t.Fatal(err)
				}
			}
			keys := func(f store.ContractFilter) []string {
				cs, err := l.Contracts(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, c := range cs {
					out = append(out, c.Tenant+"/"+c.ID)
				}
				slices.Sort(out)
				return out
			}
			for _, tc := range []struct {
				f    store.ContractFilter
				want []string
			}{
				{store.ContractFilter{ID: "x"}, []string{"a/x", "b/x", "d/x"}},
				{store.ContractFilter{ID: "x", Tenant: "b"}, []string{"b/x"}},
				{store.ContractFilter{ID: "nope"}, nil},
				{store.ContractFilter{BizID: "b-1"}, []string{"a/x", "c/y"}},
				{store.ContractFilter{BizID: "b-1", Tenant: "c"}, []string{"c/y"}},
				{store.ContractFilter{ID: "x", BizID: "b-2"}, []string{"d/x"}},
			} {
				if got := keys(tc.f); !slices.Equal(got, tc.want) {
					t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
				}
			}
		})
	}
}
