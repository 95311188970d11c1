package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/qyshook/qyshook/migrations"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/sqlite"
	"github.com/qyshook/qyshook/store/storetest"
)

// TestEvidenceQueueMigration: migration 0018 queues the contracts whose
// bundle was due before the queue existed, so none is missed.
func TestEvidenceQueueMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedEvidenceBackfill(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0018, whatever came after it.
	if err := sqlite.MigrateDown(path, migrations.StepsAbove(migrations.SQLite, "sqlite", 17)); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckEvidenceBackfill(t, db)
}

// TestEvidenceDueReadsTheQueue: EvidenceDue lists the contracts queued in
// evidence_due and no other, however many ended contracts the ledger
// holds: a due contract taken off the queue by hand is no longer listed
// (before the queue, every pass read every ended contract).
func TestEvidenceDueReadsTheQueue(t *testing.T) {
	ctx := context.Background()
	l := open(t)
	db := l.(*sqlite.DB)
	storetest.MustApply(t, l, store.ContractChange{
		Event: store.Event{ID: "e1", Tenant: "default", Kind: "contract", Type: "COMPLETE", ContractID: "c1", Source: "callback",
			ReceivedAt: time.Now(), Payload: json.RawMessage(`{}`)},
		Contract: store.Contract{Tenant: "default", ID: "c1", Status: "COMPLETE", Confirmed: true, Detail: json.RawMessage(`{}`)},
	})
	if due, err := db.EvidenceDue(ctx, 0); err != nil || len(due) != 1 {
		t.Fatalf("due = %+v, %v; want c1", due, err)
	}
	if _, err := sqlstore.Writer(db.DB).Exec(`DELETE FROM evidence_due`); err != nil {
		t.Fatal(err)
	}
	if due, err := db.EvidenceDue(ctx, 0); err != nil || len(due) != 0 {
		t.Fatalf("due after the queue was emptied = %+v, %v; want none (EvidenceDue reads the queue only)", due, err)
	}
}

// TestContractAnswersMigration: migration 0019 keeps the current answer of
// each confirmed contract written before it, under the SHA-256 its leaf's
// body_sha256 carries.
func TestContractAnswersMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedAnswersBackfill(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0019, whatever came after it.
	if err := sqlite.MigrateDown(path, migrations.StepsAbove(migrations.SQLite, "sqlite", 18)); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckAnswersBackfill(t, db)
}
