package cli

import (
	"context"
	"time"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/store"
)

// newOpsReconciler is the service's reconciler for the default tenant,
// as the admin API runs it.
func newOpsReconciler(n *natstest.Env, l store.Ledger, client *qys.Client) admin.ReconcileFunc {
	rec := reconcile.New(reconcile.Options{JS: n.JS, Names: n.Names, Ledger: l,
		APIs: map[string]reconcile.API{"default": client}})
	return func(ctx context.Context, since time.Time) (admin.ReconcileResult, error) {
		rep, err := rec.RunOnce(ctx, since)
		return admin.ReconcileResult{Checked: rep.Checked, Triggered: rep.Triggered, Requeued: rep.Requeued}, err
	}
}
