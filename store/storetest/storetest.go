// Package storetest is the conformance suite every store.Ledger must pass:
// idempotency, the status state machine, facts, archives, certifications,
// dead letters, concurrency and timestamps. store/sqlite runs it on a
// file in t.TempDir(); store/postgres runs it when
// QYSHOOK_TEST_POSTGRES_DSN is set.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// Run runs the suite. open returns a fresh, empty ledger for each subtest
// and arranges its cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Ledger) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, l store.Ledger)
	}{
		{"Idempotency", testIdempotency},
		{"ApplyContractsBatch", testApplyContractsBatch},
		{"DuplicateChildren", testDuplicateChildren},
		{"StateMachine", testStateMachine},
		{"CompletedAt", testCompletedAt},
		{"FactsOnlyOnChange", testFactsOnlyOnChange},
		{"FetchOverlap", testFetchOverlap},
		{"Outbox", testOutbox},
		{"ChildrenAndArchive", testChildrenAndArchive},
		{"ArchiveIdempotency", testArchiveIdempotency},
		{"ArchiveQueue", testArchiveQueue},
		{"ArchiveLeaseExpiry", testArchiveLeaseExpiry},
		{"ConcurrentClaims", testConcurrentClaims},
		{"RequeueWhileApplying", testRequeueWhileApplying},
		{"DocumentRefresh", testDocumentRefresh},
		{"Certifications", testCertifications},
		{"CertificationChanges", testCertificationChanges},
		{"DocumentVerification", testDocumentVerification},
		{"DeadLetters", testDeadLetters},
		{"Contracts", testContracts},
		{"Events", testEvents},
		{"Timestamps", testTimestamps},
		{"NotFound", testNotFound},
		{"ConcurrentSameContract", testConcurrentSameContract},
		{"ConcurrentDuplicates", testConcurrentDuplicates},
		{"FetchOrder", testFetchOrder},
		{"FactSeq", testFactSeq},
		{"BatchesOppositeOrder", testBatchesOppositeOrder},
		{"Audit", testAudit},
		{"ReconcileRuns", testReconcileRuns},
		{"Counts", testCounts},
		{"Endpoints", testEndpoints},
		{"Checkpoints", testCheckpoints},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

const tenant = "default"

// step is one contract event of a scenario.
type step struct {
	status    string
	confirmed bool
	signed    int    // signatories that have signed, of three
	detail    string // detail JSON; "" for a default one
}

// change builds the ContractChange for event id about contract cid.
func change(id, cid string, s step) store.ContractChange {
	c := store.Contract{
		Tenant:    tenant,
		ID:        cid,
		BizID:     "biz-" + cid,
		Subject:   "contract " + cid,
		Status:    s.status,
		Confirmed: s.confirmed,
	}
	for i := 1; i <= 3; i++ {
		st := "WAITING"
		if i <= s.signed {
			st = "SIGNED"
		}
		c.Signatories = append(c.Signatories, store.Signatory{
			ID: fmt.Sprintf("%s-s%d", cid, i), TenantType: "COMPANY",
			TenantName: fmt.Sprintf("party %d", i), Status: st, SerialNo: 4 - i,
		})
	}
	c.Detail = json.RawMessage(s.detail)
	if s.detail == "" {
		c.Detail = json.RawMessage(fmt.Sprintf(`{"id":%q,"status":%q,"signed":%d}`, cid, s.status, s.signed))
	}
	return store.ContractChange{
		Event: store.Event{
			ID: id, Tenant: tenant, Kind: "contract", Type: s.status, ContractID: cid,
			Source: "callback", ReceivedAt: time.Now(), Payload: json.RawMessage(`{"event":"` + id + `"}`),
		},
		Contract: c,
		Facts: []store.Fact{{
			ID:      "fact-" + id,
			Subject: "qys.ledger." + tenant + ".contract." + s.status,
			Payload: []byte(`{"contract":"` + cid + `"}`),
		}},
	}
}

// MustApply applies a change and fails the test on error.
func MustApply(tb testing.TB, l store.Ledger, ch store.ContractChange) store.Applied {
	tb.Helper()
	a, err := l.ApplyContract(context.Background(), ch)
	if err != nil {
		tb.Fatalf("apply %s: %v", ch.Event.ID, err)
	}
	return a
}

// MustContract loads a contract and fails the test on error.
func MustContract(tb testing.TB, l store.Ledger, id string) *store.Contract {
	tb.Helper()
	c, err := l.Contract(context.Background(), tenant, id)
	if err != nil {
		tb.Fatalf("contract %s: %v", id, err)
	}
	return c
}

// outboxIDs returns the ids of all unpublished facts.
func outboxIDs(tb testing.TB, l store.Ledger) []string {
	tb.Helper()
	facts, err := l.Outbox(context.Background(), 0)
	if err != nil {
		tb.Fatalf("outbox: %v", err)
	}
	ids := make([]string, 0, len(facts))
	for _, f := range facts {
		ids = append(ids, f.ID)
	}
	return ids
}

func testIdempotency(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	ch := change("e1", "c1", step{status: "SIGNING", confirmed: true, signed: 1})
	if a := MustApply(t, l, ch); !a.Changed || a.Previous != nil || a.Current == nil {
		t.Fatalf("first apply = %+v, want changed new contract", a)
	}
	ch.Facts = []store.Fact{{ID: "fact-of-a-duplicate", Subject: "s"}}
	ch.Contract.Status = "COMPLETE"
	_, err := l.ApplyContract(ctx, ch)
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second apply: err = %v, want ErrDuplicate", err)
	}
	if store.IsTransient(err) {
		t.Errorf("ErrDuplicate reported as transient")
	}
	if ids := outboxIDs(t, l); slices.Contains(ids, "fact-of-a-duplicate") {
		t.Errorf("a duplicate event wrote a fact: outbox %v", ids)
	}
	if c := MustContract(t, l, "c1"); c.Status != "SIGNING" {
		t.Errorf("status after duplicate = %s, want SIGNING", c.Status)
	}
	evs, err := l.Events(ctx, tenant, "c1")
	if err != nil || len(evs) != 1 {
		t.Fatalf("events = %d, %v; want 1", len(evs), err)
	}
	if ids := outboxIDs(t, l); len(ids) != 1 {
		t.Errorf("outbox = %v, want one fact", ids)
	}
}
