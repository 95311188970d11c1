package postgres

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"

	"github.com/qyshook/qyshook/migrations"
)

// MigrateUp applies every pending migration to the database at url. Up to
// date is success. Concurrent callers serialize on an advisory lock.
func MigrateUp(url string) error {
	return withMigrate(url, func(m *migrate.Migrate) error { return m.Up() })
}

// MigrateDown rolls back steps migrations (all of them when steps <= 0).
func MigrateDown(url string, steps int) error {
	return withMigrate(url, func(m *migrate.Migrate) error {
		if steps <= 0 {
			return m.Down()
		}
		return m.Steps(-steps)
	})
}

// Version returns the schema version of the database at url and whether
// a migration failed halfway (dirty); version 0 means none applied.
func Version(url string) (version uint, dirty bool, err error) {
	err = withMigrate(url, func(m *migrate.Migrate) error {
		version, dirty, err = m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			return nil
		}
		return err
	})
	return version, dirty, err
}

// withMigrate runs fn on a migrator over its own connection pool (the
// migrate driver closes the pool it is given). migrate.ErrNoChange is
// success.
func withMigrate(url string, fn func(*migrate.Migrate) error) error {
	db, err := sql.Open(Dialect.Driver, url)
	if err != nil {
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	driver, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	return migrations.With(driver, "pgx", migrations.Postgres, "postgres", fn)
}
