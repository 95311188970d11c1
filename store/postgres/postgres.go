// Package postgres is the PostgreSQL ledger: the pgx driver through
// database/sql ("pgx") under the shared SQL of store/internal/sqlstore.
//
// Transactions run at READ COMMITTED; ApplyContract locks the contract row
// (SELECT … FOR UPDATE) so concurrent dispatchers serialize per contract.
// Serialization failures, deadlocks and lost connections are reported as
// store.ErrTransient. The tables live in the connection's current schema,
// so a search_path parameter in the URL selects another one.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// Pool limits of the connection pool.
const (
	MaxOpenConns    = 16
	MaxIdleConns    = 4
	ConnMaxIdleTime = 5 * time.Minute
	ConnMaxLifetime = 30 * time.Minute
)

// DB is the PostgreSQL ledger.
type DB struct {
	*sqlstore.DB
}

var _ store.Ledger = (*DB)(nil)

// Dialect is the SQL dialect of PostgreSQL.
var Dialect = sqlstore.Dialect{
	Driver:    "pgx",
	Numbered:  true,
	LockRow:   " FOR UPDATE",
	ByteOrder: ` COLLATE "C"`,
	Transient: IsTransient,
	DiskFull:  IsDiskFull,
	Rejected:  IsRejected,
}

// Open connects to the database at url (postgres://…), migrates it to the
// latest schema and returns the ledger.
func Open(ctx context.Context, url string) (*DB, error) {
	if err := MigrateUp(url); err != nil {
		return nil, err
	}
	pool, err := sql.Open(Dialect.Driver, url)
	if err != nil {
		return nil, fmt.Errorf("ledger: open postgres: %w", err)
	}
	pool.SetMaxOpenConns(MaxOpenConns)
	pool.SetMaxIdleConns(MaxIdleConns)
	pool.SetConnMaxIdleTime(ConnMaxIdleTime)
	pool.SetConnMaxLifetime(ConnMaxLifetime)
	db := &DB{DB: sqlstore.New(Dialect, pool, nil)}
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// IsTransient reports PostgreSQL errors worth retrying: serialization
// failures and deadlocks (class 40), connection exceptions (class 08),
// lock and statement timeouts, too many connections, server shutdown, and
// connection failures pgx itself reports as safe to retry or timed out.
func IsTransient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "40"), strings.HasPrefix(pe.Code, "08"):
			return true
		}
		switch pe.Code {
		case "53000", "53300", "55P03", "57014", "57P01", "57P02", "57P03":
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
