package postgres_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/migrations"
	"github.com/qyshook/qyshook/store/postgres"
	"github.com/qyshook/qyshook/store/storetest"
)

// TestEvidenceQueueMigration: migration 0018 queues the contracts whose
// bundle was due before the queue existed, so none is missed.
func TestEvidenceQueueMigration(t *testing.T) {
	ctx := context.Background()
	path := freshSchema(t)
	db, err := postgres.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedEvidenceBackfill(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0018, whatever came after it.
	if err := postgres.MigrateDown(path, migrations.StepsAbove(migrations.Postgres, "postgres", 17)); err != nil {
		t.Fatal(err)
	}
	db, err = postgres.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckEvidenceBackfill(t, db)
}

// TestContractAnswersMigration: migration 0019 keeps the current answer of
// each confirmed contract written before it, under the SHA-256 its leaf's
// body_sha256 carries.
func TestContractAnswersMigration(t *testing.T) {
	ctx := context.Background()
	path := freshSchema(t)
	db, err := postgres.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedAnswersBackfill(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0019, whatever came after it.
	if err := postgres.MigrateDown(path, migrations.StepsAbove(migrations.Postgres, "postgres", 18)); err != nil {
		t.Fatal(err)
	}
	db, err = postgres.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckAnswersBackfill(t, db)
}
