package sqlite_test

import (
	"context"
	"database/sql"
	"github.com/qyshook/qyshook/migrations"
	"path/filepath"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/sqlite"
)

// TestArchiveQueueMigration: migration 0004 marks archived documents
// archived and queues the unarchived documents of signed contracts only.
func TestArchiveQueueMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	if err := sqlite.MigrateUp(path); err != nil {
		t.Fatal(err)
	}
	_, _, err := sqlite.Version(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlite.MigrateDown(path, migrations.StepsAbove(migrations.SQLite, "sqlite", 3)); err != nil { // back to the schema before 0004
		t.Fatal(err)
	}
	raw, err := sql.Open(sqlite.Dialect.Driver, path)
	if err != nil {
		t.Fatal(err)
	}
	const now = "2026-01-02T03:04:05.000000Z"
	for _, q := range []string{
		`INSERT INTO contracts (tenant, id, status, updated_at) VALUES ('t', 'done', 'COMPLETE', '` + now + `')`,
		`INSERT INTO contracts (tenant, id, status, updated_at) VALUES ('t', 'voided', 'INVALIDED', '` + now + `')`,
		`INSERT INTO contracts (tenant, id, status, updated_at) VALUES ('t', 'signing', 'SIGNING', '` + now + `')`,
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
	if err := sqlite.MigrateUp(path); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
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
		if d.ArchiveState == store.ArchivePending && d.NextAttemptAt == nil {
			t.Errorf("%s: pending without a due time", d.ID)
		}
	}
	if len(docs) != len(want) {
		t.Fatalf("%d documents, want %d", len(docs), len(want))
	}
	// The queued ones are claimable right away.
	claimed, err := db.ClaimDocuments(context.Background(), "x", 10, time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim after migration = %d, %v; want the 2 pending", len(claimed), err)
	}
}
