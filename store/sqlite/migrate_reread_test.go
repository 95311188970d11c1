package sqlite_test

import (
	"context"
	"database/sql"
	"github.com/qyshook/qyshook/migrations"
	"path/filepath"
	"testing"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/sqlite"
)

// TestCertificationRereadMigration: migration 0008 withdraws every
// confirmation made before it (read with the callback's codes, so a
// passed company could be FAILED and a never-submitted one SUCCESS): the
// row becomes unconfirmed, pending, reason reread, for the reconciler to
// ask again. An unconfirmed row keeps its (empty) reason.
func TestCertificationRereadMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	if err := sqlite.MigrateUp(path); err != nil {
		t.Fatal(err)
	}
	_, _, err := sqlite.Version(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlite.MigrateDown(path, migrations.StepsAbove(migrations.SQLite, "sqlite", 7)); err != nil { // back to the schema before 0008
		t.Fatal(err)
	}
	raw, err := sql.Open(sqlite.Dialect.Driver, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO certifications (tenant, request_id, kind, status, success, mode, name, fail_reason, updated_at, confirmed, pending)
			VALUES ('t', 'co-1', 'company', '1', 1, '', '', '', '2026-01-02T03:04:05.000000Z', 1, 0)`,
		`INSERT INTO certifications (tenant, request_id, kind, status, success, mode, name, fail_reason, updated_at, confirmed, pending)
			VALUES ('t', 'pe-1', 'personal', '0', 0, '', '', '', '2026-01-02T03:04:05.000000Z', 0, 1)`,
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
	co, err := db.Certification(context.Background(), "t", "co-1")
	if err != nil || co.Confirmed || !co.Pending || co.Reason != store.CertReasonReread {
		t.Fatalf("co-1 confirmed before 0008 = %+v, %v; want unconfirmed, pending, reread", co, err)
	}
	pe, err := db.Certification(context.Background(), "t", "pe-1")
	if err != nil || pe.Confirmed || pe.Reason != "" {
		t.Fatalf("pe-1 = %+v, %v", pe, err)
	}
}
