package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/sqlite"
)

// TestBusyIsTransient provokes a real SQLITE_BUSY with a zero busy
// timeout and checks IsTransient recognizes it.
func TestBusyIsTransient(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	if err := sqlite.MigrateUp(path); err != nil {
		t.Fatal(err)
	}
	holder, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO outbox (id, subject, created_at) VALUES ('a', 's', 'now')`); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Exec(`INSERT INTO outbox (id, subject, created_at) VALUES ('b', 's', 'now')`)
	if err == nil {
		t.Fatal("no SQLITE_BUSY")
	}
	if !sqlite.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false", err)
	}
	if sqlite.IsTransient(fmt.Errorf("other")) {
		t.Error("plain error transient")
	}
}

// TestTwoWriters opens the same file twice, as two processes would, and
// writes through both at once: the busy timeout and BEGIN IMMEDIATE keep
// SQLITE_BUSY from surfacing.
func TestTwoWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "two.db")
	var ledgers []*sqlite.DB
	for range 2 {
		db, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		ledgers = append(ledgers, db)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			l := ledgers[w%2]
			for i := range 25 {
				id := fmt.Sprintf("w%d-%d", w, i)
				_, err := l.ApplyContract(ctx, store.ContractChange{
					Event:    store.Event{ID: id, Tenant: "default", Kind: "contract", Payload: json.RawMessage(`{}`)},
					Contract: store.Contract{ID: fmt.Sprintf("c%d", i%5), Status: "SIGNING"},
				})
				if err != nil {
					t.Errorf("apply %s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	cs, err := ledgers[0].Contracts(ctx, store.ContractFilter{Tenant: "default"})
	if err != nil || len(cs) != 5 {
		t.Errorf("contracts = %d, %v", len(cs), err)
	}
}
