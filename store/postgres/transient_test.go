package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/postgres"
)

func TestIsTransient(t *testing.T) {
	for code, want := range map[string]bool{"40001": true, "40P01": true, "08006": true, "57P01": true, "23505": false, "42P01": false} {
		err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code})
		if got := postgres.IsTransient(err); got != want {
			t.Errorf("IsTransient(%s) = %v, want %v", code, got, want)
		}
	}
	if postgres.IsTransient(errors.New("x")) {
		t.Error("plain error transient")
	}
}

func TestCancelledIsTransient(t *testing.T) {
	l := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.ApplyContract(ctx, store.ContractChange{
		Event:    store.Event{ID: "e1", Tenant: "default"},
		Contract: store.Contract{ID: "c1", Status: "SIGNING"},
	})
	if err == nil || !store.IsTransient(err) {
		t.Errorf("cancelled apply = %v, transient=%v", err, store.IsTransient(err))
	}
}
