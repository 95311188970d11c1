package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/postgres"
)

// TestBatchNewContractCreatedMeanwhile: a batch finds a contract absent,
// but another transaction inserts it before the batch does. The batch
// waits for that transaction, then (its insert skipped by the conflict)
// rolls back and applies its changes one at a time, judging the change
// against the row the other transaction wrote, as before the set-based
// path: the COMPLETE row is not overwritten by SIGNING.
func TestBatchNewContractCreatedMeanwhile(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	app := "qyshook_race_" + q.Get("search_path")
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO contracts (tenant, id, status, confirmed, updated_at)
		VALUES ('default', 'race', 'COMPLETE', true, now())`); err != nil {
		t.Fatal(err)
	}
	mk := func(ev, id string) store.ContractChange {
		return store.ContractChange{
			Event:    store.Event{ID: ev, Tenant: "default", Kind: "contract", Type: "SIGN", ContractID: id},
			Contract: store.Contract{Tenant: "default", ID: id, Status: "SIGNING", Confirmed: true},
		}
	}
	type result struct {
		outs []store.Applied
		errs []error
		err  error
	}
	done := make(chan result, 1)
	go func() {
		outs, errs, err := db.ApplyContracts(ctx, []store.ContractChange{mk("r-1", "race"), mk("r-2", "calm")})
		done <- result{outs, errs, err}
	}()
	// Wait until the batch waits on the uncommitted row (a safety bound,
	// not a timing claim).
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO contracts%'`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited on the other transaction's row")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || res.errs[0] != nil || res.errs[1] != nil {
		t.Fatalf("batch: %v %v", res.err, res.errs)
	}
	if res.outs[0].Changed || res.outs[0].Previous == nil || res.outs[0].Previous.Status != "COMPLETE" || !res.outs[1].Changed {
		t.Fatalf("results %+v", res.outs)
	}
	if n := sqlstore.Fallbacks(db.DB); n != 1 {
		t.Fatalf("%d fallbacks to one change at a time, want 1", n)
	}
	c, err := db.Contract(ctx, "default", "race")
	if err != nil || c.Status != "COMPLETE" {
		t.Fatalf("contract race: %+v, %v", c, err)
	}
	if _, err := db.Contract(ctx, "default", "calm"); err != nil {
		t.Fatalf("contract calm: %v", err)
	}
}
