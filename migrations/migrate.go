package migrations

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

// With runs fn on a migrator over driver (named driverName) and the files
// of dir in fsys, then closes both; the driver is closed on every path.
// migrate.ErrNoChange counts as success.
func With(driver database.Driver, driverName string, fsys fs.FS, dir string, fn func(*migrate.Migrate) error) error {
	src, err := iofs.New(fsys, dir)
	if err != nil {
		_ = driver.Close()
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, driverName, driver)
	if err != nil {
		_ = driver.Close()
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	err = fn(m)
	srcErr, dbErr := m.Close()
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	if err := errors.Join(srcErr, dbErr); err != nil {
		return fmt.Errorf("ledger: migrate: close: %w", err)
	}
	return nil
}
