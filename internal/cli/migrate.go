package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/migrations"
	"github.com/qyshook/qyshook/redact"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

var migrateSubs = []opsSub{
	{"up", "[--json]", runMigrateUp},
	{"down", "<N> | --all --yes", runMigrateDown},
	{"version", "[--json]", runMigrateVersion},
}

// schemaVersion is `migrate … --json`.
type schemaVersion struct {
	Database string `json:"database"` // sqlite or postgres
	Version  uint   `json:"version"`
	Latest   uint   `json:"latest"`
	Dirty    bool   `json:"dirty"`
	Exists   bool   `json:"exists"`
}

func runMigrateUp(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate up", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	cfg, err := migrateFlags(env, fs, args)
	if err != nil {
		return err
	}
	before := uint(0)
	if path, isSQLite := sqlitePath(cfg); !isSQLite || statOK(path) {
		before, _, _ = ledgerdb.Version(cfg.DB.Reveal(), cfg.DataDir)
	}
	if err := ledgerdb.MigrateUp(cfg.DB.Reveal(), cfg.DataDir); err != nil {
		return migrateErr(cfg, err)
	}
	if !*asJSON {
		// Say what this run did, not only where the schema stands.
		if after, _, err := ledgerdb.Version(cfg.DB.Reveal(), cfg.DataDir); err == nil && after > before {
			fmt.Fprintf(env.Stdout, "applied %d migration(s): schema version %d -> %d\n", after-before, before, after)
		} else if err == nil {
			fmt.Fprintln(env.Stdout, "no migration to apply")
		}
	}
	return printSchema(env, cfg, *asJSON)
}

func runMigrateDown(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate down", "<N> | --all --yes")
	all := fs.Bool("all", false, "roll back every migration (drops every ledger table)")
	yes := fs.Bool("yes", false, "confirm --all")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	steps := 0
	switch {
	case *all && len(pos) > 0:
		return opsUsage(fs, "give N or --all, not both")
	case *all && !*yes:
		return opsUsage(fs, "--all drops every ledger table and its data: add --yes to confirm")
	case !*all && len(pos) != 1:
		return opsUsage(fs, "how many migrations to roll back? give N (or --all --yes)")
	case !*all:
		n, err := strconv.Atoi(pos[0])
		if err != nil || n <= 0 {
			return opsUsage(fs, "N must be a positive number, got %q", pos[0])
		}
		steps = n
	}
	cfg, err := loadConfig(env, 0)
	if err != nil {
		return err
	}
	if err := sqliteLedgerExists(cfg); err != nil {
		return err
	}
	if err := ledgerdb.MigrateDown(cfg.DB.Reveal(), cfg.DataDir, steps); err != nil {
		return migrateErr(cfg, err)
	}
	return printSchema(env, cfg, *asJSON)
}

func runMigrateVersion(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate version", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	cfg, err := migrateFlags(env, fs, args)
	if err != nil {
		return err
	}
	return printSchema(env, cfg, *asJSON)
}

// migrateFlags parses flags without positionals and loads the config.
func migrateFlags(env *Env, fs *flag.FlagSet, args []string) (*config.Config, error) {
	pos, err := parseMixed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, opsUsage(fs, "unexpected argument %q", pos[0])
	}
	return loadConfig(env, 0)
}

// printSchema prints the schema version. A SQLite file that does not
// exist is reported as version 0 and is not created.
func printSchema(env *Env, cfg *config.Config, asJSON bool) error {
	sv := schemaVersion{Database: "postgres", Latest: latestMigration(), Exists: true}
	path, isSQLite := sqlitePath(cfg)
	if isSQLite {
		sv.Database = "sqlite"
		_, err := os.Stat(path)
		sv.Exists = err == nil
	}
	if sv.Exists {
		var err error
		if sv.Version, sv.Dirty, err = ledgerdb.Version(cfg.DB.Reveal(), cfg.DataDir); err != nil {
			return migrateErr(cfg, err)
		}
	}
	if asJSON {
		return printJSON(env.Stdout, sv)
	}
	where := "postgres"
	if isSQLite {
		where = "sqlite " + path
	}
	state := "up to date"
	switch {
	case !sv.Exists:
		state = "no database file yet; qyshook migrate up creates it"
	case sv.Dirty:
		state = "DIRTY: a migration failed halfway; repair the schema by hand"
	case sv.Version < sv.Latest:
		state = fmt.Sprintf("%d pending; qyshook migrate up applies them", sv.Latest-sv.Version)
	case sv.Version > sv.Latest:
		state = "newer than this qyshook"
	}
	fmt.Fprintf(env.Stdout, "schema version %d of %d (%s): %s\n", sv.Version, sv.Latest, where, state)
	return nil
}

// migrateErr maps a migration failure: a dirty schema is a failure,
// anything else means the database could not be used.
func migrateErr(cfg *config.Config, err error) error {
	var dirty migrate.ErrDirty
	if errors.As(err, &dirty) {
		return fmt.Errorf("schema is dirty at version %d (a migration failed halfway): repair it by hand", dirty.Version)
	}
	return unavailable(fmt.Errorf("database unavailable: %s", oneLine(redact.Error(err, cfg.DB.Reveal()))))
}

// latestMigration is the highest version among the embedded migrations.
func latestMigration() uint {
	var latest uint
	entries, _ := iofs.ReadDir(migrations.SQLite, "sqlite")
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		if v, err := strconv.ParseUint(num, 10, 32); err == nil && uint(v) > latest {
			latest = uint(v)
		}
	}
	return latest
}

// sqlitePath returns the SQLite file of the configured ledger, if it is
// one (the same reading of the URL as store/ledgerdb).
func sqlitePath(cfg *config.Config) (string, bool) {
	raw := cfg.DB.Reveal()
	if raw == "" {
		return filepath.Join(cfg.DataDir, ledgerdb.DefaultFile), true
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (!strings.EqualFold(scheme, "sqlite") && !strings.EqualFold(scheme, "sqlite3")) {
		return "", false
	}
	path, _, _ := strings.Cut(rest, "?")
	return filepath.FromSlash(path), true
}

// sqliteLedgerExists fails with ExitUnavailable when the ledger is a
// SQLite file that does not exist, rather than creating an empty one.
func sqliteLedgerExists(cfg *config.Config) error {
	path, ok := sqlitePath(cfg)
	if !ok {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return unavailable(fmt.Errorf("database unavailable: no ledger at %s (check QYSHOOK_DB and QYSHOOK_DATA_DIR; "+
				"qyshook migrate up creates it)", path))
		}
		return unavailable(fmt.Errorf("database unavailable: %v", err))
	}
	return nil
}
