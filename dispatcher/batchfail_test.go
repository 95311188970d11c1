package dispatcher_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestBatchWithAFailingContract: on PostgreSQL a contract whose subject
// holds a NUL byte cannot be written (text refuses it), so the batch that
// carries it fails as a whole; the dispatcher then commits each contract
// in a transaction of its own, as before the set-based ledger path: the
// other contracts of the batch are applied, the failing one is not.
func TestBatchWithAFailingContract(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.Postgres))
	h.Config.MaxDeliver = 2
	bad := h.Fake.AddContract(qystest.ContractSpec{Subject: "bad\x00subject", Status: lifecycle.Signing,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方"}}})
	var good []string
	for range 3 {
		good = append(good, h.AddContract(lifecycle.Signing))
	}
	h.PublishContract(good[0], "SEAL", lifecycle.Signing)
	h.PublishContract(bad, "SEAL", lifecycle.Signing)
	h.PublishContract(good[1], "SEAL", lifecycle.Signing)
	h.PublishContract(good[2], "SEAL", lifecycle.Signing)
	h.Start()
	stagetest.Eventually(t, "the good contracts applied", func() bool {
		for _, id := range good {
			if c := h.Contract(id); c == nil || !c.Confirmed {
				return false
			}
		}
		return true
	})
	stagetest.Eventually(t, "the failing contract dead-lettered", func() bool {
		dl, _ := h.Ledger.DeadLetters(context.Background(), 10)
		return len(dl) == 1 && dl[0].EventID != ""
	})
	if c := h.Contract(bad); c != nil {
		t.Fatalf("the failing contract was written: %+v", c)
	}
}
