package storetest

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/store"
)

// VerifyLogAtCleanup checks, when t ends (before the ledger closes: call
// it after registering the close), that the receipt log of l agrees with
// every row the test left: whatever a scenario did through the ledger's
// methods, `verify --log` must find nothing (files are not checked).
func VerifyLogAtCleanup(t *testing.T, l store.Ledger) {
	t.Helper()
	lv, ok := l.(store.LogVerifier)
	if !ok {
		t.Fatalf("ledger %T keeps no receipt log", l)
	}
	t.Cleanup(func() {
		_, err := lv.VerifyLog(context.Background(), store.LogVerifyOptions{}, func(p store.LogProblem) {
			t.Errorf("receipt log after the test: %s", p)
		})
		if err != nil {
			t.Errorf("verify log: %v", err)
		}
	})
}
