package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestReconcileDroppedCallbacks: 契约锁 never delivers the callbacks of
// two lifecycles; the reconciler, running inside qyshook, still brings the
// ledger to the API's truth, archives the signed documents, and marks the
// changes as reconciled in the event history.
func TestReconcileDroppedCallbacks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := newStack(t, testdb.URL(t, testdb.SQLite))
	s.env["QYSHOOK_RECONCILE_INTERVAL"] = "200ms"
	addr := s.run(t, app.Roles{Receiver: true, Dispatcher: true})
	base := "http://" + addr + "/callbacks/default"
	s.fake.SetCallbackTarget(qystest.CallbackTarget{
		ContractURL: base + "/contract",
		Sender:      qys.SenderConfig{Format: qys.FormatA, Secret: s.secret, Encrypt: true},
	})
	s.fake.DropCallbacks(true)
	spec := qystest.ContractSpec{Subject: "无回调", Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "赵六"}}}
	signed, rejected := s.fake.AddContract(spec), s.fake.AddContract(spec)
	for _, err := range []error{s.fake.Send(signed), s.fake.Sign(signed, 0), s.fake.Send(rejected), s.fake.Reject(rejected, 0)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.fake.Dropped() == 0 {
		t.Fatal("the fake dropped nothing: the test would not show reconciliation")
	}
	l := testdb.OpenURL(t, s.dbURL)
	err := e2e.Eventually(ctx, 60*time.Second, func() string {
		for _, id := range []string{signed, rejected} {
			want, _ := s.fake.Contract(id)
			c, err := l.Contract(ctx, "default", id)
			if err != nil {
				return fmt.Sprintf("contract %s: %v", id, err)
			}
			if c.Status != want.Status {
				return fmt.Sprintf("contract %s: %s, API says %s", id, c.Status, want.Status)
			}
			for _, d := range c.Documents {
				// The operation log (<id>.oplog) and the download items
				// (<id>.item.<ITEM>) are not among the fake's documents.
				ok := d.SHA256 != "" && (strings.HasSuffix(d.ID, ".oplog") || strings.Contains(d.ID, store.ItemInfix) ||
					d.SHA256 == s.fake.DocumentSHA256(d.ID))
				if c.Status == lifecycle.Complete && !ok {
					return fmt.Sprintf("document %s not archived", d.ID)
				}
			}
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := l.Events(ctx, "default", signed)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v", err)
	}
	for _, e := range evs {
		if e.Source != "reconcile" {
			t.Fatalf("event %s has source %q, want reconcile", e.ID, e.Source)
		}
	}
}
