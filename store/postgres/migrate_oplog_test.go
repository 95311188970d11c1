package postgres_test

import (
	"context"
	"database/sql"
	"github.com/qyshook/qyshook/migrations"
	"testing"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/postgres"
)

// TestDocumentRefreshMigration: migration 0009 gives each document
// archived before it its one version and generation 0, and goes down and
// up again.
func TestDocumentRefreshMigration(t *testing.T) {
	path := freshSchema(t)
	if err := postgres.MigrateUp(path); err != nil {
		t.Fatal(err)
	}
	_, _, err := postgres.Version(path)
	if err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0009, whatever came after it.
	if err := postgres.MigrateDown(path, migrations.StepsAbove(migrations.Postgres, "postgres", 8)); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open(postgres.Dialect.Driver, path)
	if err != nil {
		t.Fatal(err)
	}
	const now = "2026-01-02T03:04:05.000000Z"
	for _, q := range []string{
		`INSERT INTO contracts (tenant, id, status, updated_at) VALUES ('t', 'c', 'INVALIDED', '` + now + `')`,
		`INSERT INTO documents (tenant, id, contract_id, sha256, size, path, fetched_at, archive_state)
			VALUES ('t', 'c.oplog', 'c', 'ab', 12, 'documents/sha256/ab/ab.json', '` + now + `', 'archived')`,
		`INSERT INTO documents (tenant, id, contract_id, archive_state) VALUES ('t', 'd-pending', 'c', 'pending')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	for range 2 { // up, then down and up again
		if err := postgres.MigrateUp(path); err != nil {
			t.Fatal(err)
		}
		db, err := postgres.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := db.DocumentVersions(context.Background(), "t", "c.oplog")
		if err != nil || len(vs) != 1 || vs[0].SHA256 != "ab" || vs[0].Size != 12 || vs[0].ContractID != "c" ||
			vs[0].Path != "documents/sha256/ab/ab.json" || vs[0].FetchedAt.IsZero() {
			t.Fatalf("versions of the archived log: %+v, %v", vs, err)
		}
		if vs, err := db.DocumentVersions(context.Background(), "t", "d-pending"); err != nil || len(vs) != 0 {
			t.Fatalf("versions of a document never archived: %+v, %v", vs, err)
		}
		docs, err := db.Documents(context.Background(), store.DocumentFilter{})
		if err != nil || len(docs) != 2 || docs[0].Generation != 0 {
			t.Fatalf("documents %+v, %v", docs, err)
		}
		db.Close()
		if err := postgres.MigrateDown(path, migrations.StepsAbove(migrations.Postgres, "postgres", 8)); err != nil {
			t.Fatal(err)
		}
	}
}
