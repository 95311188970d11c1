package dispatcher_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestBatchWithAFailingContract: on PostgreSQL a contract whose subject
// holds a NUL byte cannot be written (text refuses it), so the batch that
// carries it fails as a whole; the dispatcher then commits each contract
// in a transaction of its own, as before the set-based ledger path: the
// other contracts of the batch are applied, the failing one is not.
func TestBatchWithAFailingContract(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.Postgres))
	h.cfg.MaxDeliver = 2
	bad := h.fake.AddContract(qystest.ContractSpec{Subject: "bad\x00subject", Status: qys.StatusSigning,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方"}}})
	var good []string
	for range 3 {
		good = append(good, h.addContract(qys.StatusSigning))
	}
	h.publishContract(good[0], "SEAL", qys.StatusSigning)
	h.publishContract(bad, "SEAL", qys.StatusSigning)
	h.publishContract(good[1], "SEAL", qys.StatusSigning)
	h.publishContract(good[2], "SEAL", qys.StatusSigning)
	h.start()
	eventually(t, "the good contracts applied", func() bool {
		for _, id := range good {
			if c := h.contract(id); c == nil || !c.Confirmed {
				return false
			}
		}
		return true
	})
	eventually(t, "the failing contract dead-lettered", func() bool {
		dl, _ := h.ledger.DeadLetters(context.Background(), 10)
		return len(dl) == 1 && dl[0].EventID != ""
	})
	if c := h.contract(bad); c != nil {
		t.Fatalf("the failing contract was written: %+v", c)
	}
}
