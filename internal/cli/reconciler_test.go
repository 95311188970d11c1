package cli

import (
	"testing"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/store"
)

// newOpsReconciler is the service's reconciler for the default tenant,
// as the admin API runs it.
func newOpsReconciler(t testing.TB, n *natstest.Env, l store.Ledger, client *qys.Client) admin.ReconcileFunc {
	rec := mustReconciler(t, reconcile.Options{JS: n.JS, Names: n.Names, Ledger: l,
		APIs: map[string]reconcile.API{"default": client}})
	return app.AdminReconcile(rec.RunOnce)
}

// mustReconciler is reconcile.New for tests.
func mustReconciler(t testing.TB, o reconcile.Options) *reconcile.Reconciler {
	t.Helper()
	r, err := reconcile.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
