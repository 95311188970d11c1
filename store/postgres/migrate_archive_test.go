package postgres_test

import (
	"context"
	"database/sql"
	"github.com/qyshook/qyshook/migrations"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/postgres"
)

// TestArchiveQueueMigration: migration 0004 marks archived documents
// archived and queues the unarchived documents of signed contracts only.
func TestArchiveQueueMigration(t *testing.T) {
	u := freshSchema(t)
	if err := postgres.MigrateUp(u); err != nil {
		t.Fatal(err)
	}
	_, _, err := postgres.Version(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.MigrateDown(u, migrations.StepsAbove(migrations.Postgres, "postgres", 3)); err != nil { // back to the schema before 0004
		t.Fatal(err)
	}
	raw, err := sql.Open(postgres.Dialect.Driver, u)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO contracts (tenant, id, status, updated_at) VALUES ('t', 'done', 'COMPLETE', now())`,
		`INSERT INTO contracts (tenant, id, status, updated_at) VALUES ('t', 'voided', 'INVALIDED', now())`,
		`INSERT INTO contracts (tenant, id, status, updated_at) VALUES ('t', 'signing', 'SIGNING', now())`,
		`INSERT INTO documents (tenant, id, contract_id, sha256, path) VALUES ('t', 'd-archived', 'done', 'ab', 'p')`,
		`INSERT INTO documents (tenant, id, contract_id) VALUES ('t', 'd-missing', 'done')`,
		`INSERT INTO documents (tenant, id, contract_id) VALUES ('t', 'd-voided', 'voided')`,
		`INSERT INTO documents (tenant, id, contract_id) VALUES ('t', 'd-draft', 'signing')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	if err := postgres.MigrateUp(u); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	docs, err := db.Documents(context.Background(), store.DocumentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"d-archived": store.ArchiveArchived, "d-missing": store.ArchivePending,
		"d-voided": store.ArchivePending, "d-draft": store.ArchiveNone}
	for _, d := range docs {
		if d.ArchiveState != want[d.ID] {
			t.Errorf("%s: state %q, want %q", d.ID, d.ArchiveState, want[d.ID])
		}
	}
	if len(docs) != len(want) {
		t.Fatalf("%d documents, want %d", len(docs), len(want))
	}
	claimed, err := db.ClaimDocuments(context.Background(), "x", 10, time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim after migration = %d, %v; want the 2 pending", len(claimed), err)
	}
}
