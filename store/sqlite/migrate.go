package sqlite

import (
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"

	"modernc.org/sqlite"

	"github.com/qyshook/qyshook/migrations"
	"github.com/qyshook/qyshook/pidlock"
)

// The SQL function qys_sha256(x) returns the hex SHA-256 of x's bytes
// (NULL for NULL): migration 0019 keys the answers it copies by it, the
// same hash the receipt log's body_sha256 carries.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("qys_sha256", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		var b []byte
		switch x := args[0].(type) {
		case nil:
			return nil, nil
		case string:
			b = []byte(x)
		case []byte:
			b = x
		default:
			b = []byte(fmt.Sprint(x))
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:]), nil
	})
	if err != nil {
		panic("register qys_sha256: " + err.Error())
	}
}

// MigrateUp applies every pending migration to the database at path,
// creating it (and its directory) if needed. Up to date is success. Like
// Open, it fails while another process holds the ledger for writing.
func MigrateUp(path string) error {
	if err := ensureDir(path); err != nil {
		return err
	}
	dsn, err := baseDSN(path, Options{})
	if err != nil {
		return err
	}
	lock, err := pidlock.Shared(LockPath(path))
	if err != nil {
		return fmt.Errorf("ledger in use: %w", err)
	}
	defer lock.Release()
	return migrateUp(path, dsn)
}

// MigrateDown rolls back steps migrations (all of them when steps <= 0).
// It fails while another process holds the ledger for writing.
func MigrateDown(path string, steps int) error {
	dsn, err := baseDSN(path, Options{})
	if err != nil {
		return err
	}
	lock, err := pidlock.Shared(LockPath(path))
	if err != nil {
		return fmt.Errorf("ledger in use: %w", err)
	}
	defer lock.Release()
	return withMigrate(path, dsn, func(m *migrate.Migrate) error {
		if steps <= 0 {
			return m.Down()
		}
		return m.Steps(-steps)
	})
}

// Version returns the schema version of the database at path and whether
// a migration failed halfway (dirty); version 0 means none applied.
func Version(path string) (version uint, dirty bool, err error) {
	dsn, err := baseDSN(path, Options{})
	if err != nil {
		return 0, false, err
	}
	err = withMigrate(path, dsn, func(m *migrate.Migrate) error {
		version, dirty, err = m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			return nil
		}
		return err
	})
	return version, dirty, err
}

func migrateUp(path, dsn string) error {
	return withMigrate(path, dsn, func(m *migrate.Migrate) error { return m.Up() })
}

// withMigrate runs fn on a migrator over its own connection pool (the
// migrate driver closes the pool it is given). migrate.ErrNoChange is
// success.
//
// Openers of the same file migrate one at a time (the write lock keeps
// other processes out; this lock orders the opens within one process and
// any process on a system without flock): golang-migrate's SQLite lock is
// per migrator, and a second one seeing the first one's migration
// half-done would find the schema "dirty".
func withMigrate(path, dsn string, fn func(*migrate.Migrate) error) error {
	unlock, err := lockFile(path + ".migrate-lock")
	if err != nil {
		return fmt.Errorf("ledger: migrate: lock: %w", err)
	}
	defer unlock()
	db, err := sql.Open(Dialect.Driver, dsn)
	if err != nil {
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	db.SetMaxOpenConns(1)
	driver, err := migratesqlite.WithInstance(db, &migratesqlite.Config{})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	return migrations.With(driver, "sqlite", migrations.SQLite, "sqlite", fn)
}
