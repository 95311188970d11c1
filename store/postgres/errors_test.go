package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/postgres"
)

func TestIsRejectedAndDiskFull(t *testing.T) {
	for code, want := range map[string][2]bool{ // rejected, disk full
		"22021": {true, false}, "22P05": {true, false}, "22001": {true, false}, "23502": {true, false},
		"23503": {true, false}, "23505": {false, false}, "23P01": {false, false}, "54000": {true, false},
		"53100": {false, true}, "40001": {false, false}, "08006": {false, false},
	} {
		err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code})
		if got := [2]bool{postgres.IsRejected(err), postgres.IsDiskFull(err)}; got != want {
			t.Errorf("%s: rejected, disk full = %v, want %v", code, got, want)
		}
	}
}

// TestNULIsRejected (issue 11): PostgreSQL refuses a NUL byte in text
// (22021); the ledger marks it store.ErrRejected, not transient, so the
// dispatcher dead-letters instead of retrying for ever.
func TestNULIsRejected(t *testing.T) {
	l := open(t)
	ctx := context.Background()
	_, err := l.ApplyContract(ctx, store.ContractChange{
		Event:    store.Event{ID: "e1", Tenant: "default", Kind: "contract", Type: "SEAL", ContractID: "c\x001", ReceivedAt: time.Now()},
		Contract: store.Contract{Tenant: "default", ID: "c\x001", Status: "SIGNING", UpdatedAt: time.Now()},
	})
	if !errors.Is(err, store.ErrRejected) || store.IsTransient(err) {
		t.Fatalf("apply with a NUL contract id = %v (rejected=%v, transient=%v), want rejected",
			err, errors.Is(err, store.ErrRejected), store.IsTransient(err))
	}
	_, err = l.AddDeadLetter(ctx, store.DeadLetter{Consumer: "c", StreamSeq: 1, Reason: "x\x00", CreatedAt: time.Now()})
	if !errors.Is(err, store.ErrRejected) {
		t.Fatalf("dead letter with a NUL reason = %v, want rejected", err)
	}
}
