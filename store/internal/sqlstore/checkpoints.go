package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/qyshook/qyshook/store"
)

var _ store.CheckpointLog = (*DB)(nil)

// AddCheckpoint implements store.CheckpointLog.
func (s *DB) AddCheckpoint(ctx context.Context, c store.LogCheckpoint, facts []store.Fact) error {
	if c.Size <= 0 || c.Root == "" || len(c.Note) == 0 || c.Origin == "" || c.KeyID == "" {
		return errors.New("ledger: add checkpoint: size, root, note, origin and key id are required")
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var size int64
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO log_checkpoints (size, root, note, origin, key_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (size) DO NOTHING RETURNING size`),
			c.Size, c.Root, bytesArg(c.Note), c.Origin, c.KeyID, s.timeArg(c.CreatedAt)).Scan(&size)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrDuplicate
		}
		if err != nil {
			return fmt.Errorf("insert checkpoint %d: %w", c.Size, err)
		}
		return s.insertFacts(ctx, tx, facts, "", c.CreatedAt)
	})
	return s.fail(fmt.Sprintf("add checkpoint %d", c.Size), err)
}

// AddStamp implements store.CheckpointLog.
func (s *DB) AddStamp(ctx context.Context, st store.LogStamp) error {
	if st.Size <= 0 || st.TSAURL == "" || len(st.Token) == 0 || st.GenTime.IsZero() {
		return errors.New("ledger: add stamp: size, authority, token and time are required")
	}
	if st.StampedAt.IsZero() {
		st.StampedAt = s.now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE log_checkpoints SET stamps = stamps + 1 WHERE size = ?`), st.Size)
		if err != nil {
			return fmt.Errorf("count stamp: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("count stamp: %w", err)
		} else if n == 0 {
			return store.ErrNotFound
		}
		var size int64
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO log_stamps (size, tsa_url, token, certs, gen_time, serial, stamped_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (size, tsa_url) DO NOTHING RETURNING size`),
			st.Size, st.TSAURL, bytesArg(st.Token), st.Certs, s.timeArg(st.GenTime), st.Serial, s.timeArg(st.StampedAt)).Scan(&size)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrDuplicate // rolls the count back
		}
		if err != nil {
			return fmt.Errorf("insert stamp: %w", err)
		}
		return nil
	})
	return s.fail(fmt.Sprintf("add stamp of checkpoint %d", st.Size), err)
}

const checkpointCols = `size, root, note, origin, key_id, created_at`

// Checkpoints implements store.CheckpointLog.
func (s *DB) Checkpoints(ctx context.Context, f store.CheckpointFilter) ([]store.LogCheckpoint, error) {
	query := `SELECT ` + checkpointCols + ` FROM log_checkpoints`
	var args []any
	if f.BeforeSize > 0 {
		query += ` WHERE size < ?`
		args = append(args, f.BeforeSize)
	}
	query += ` ORDER BY size DESC` + limitClause(f.Limit)
	return s.readCheckpoints(ctx, "checkpoints", query, args...)
}

// Checkpoint implements store.CheckpointLog.
func (s *DB) Checkpoint(ctx context.Context, size int64) (*store.LogCheckpoint, error) {
	cs, err := s.readCheckpoints(ctx, "checkpoint", `SELECT `+checkpointCols+` FROM log_checkpoints WHERE size = ?`, size)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, s.fail(fmt.Sprintf("checkpoint %d", size), store.ErrNotFound)
	}
	return &cs[0], nil
}

// UnanchoredCheckpoints implements store.CheckpointLog.
func (s *DB) UnanchoredCheckpoints(ctx context.Context, limit int) ([]store.LogCheckpoint, error) {
	return s.readCheckpoints(ctx, "unanchored checkpoints",
		`SELECT `+checkpointCols+` FROM log_checkpoints WHERE stamps = 0 ORDER BY size`+limitClause(limit))
}

// CheckpointStats implements store.CheckpointLog.
func (s *DB) CheckpointStats(ctx context.Context) (store.CheckpointStats, error) {
	var st store.CheckpointStats
	latest, err := s.readCheckpoints(ctx, "checkpoint stats",
		`SELECT `+checkpointCols+` FROM log_checkpoints ORDER BY size DESC LIMIT 1`)
	if err != nil || len(latest) == 0 {
		return st, err
	}
	st.Latest = &latest[0]
	if st.Latest.Anchored() {
		st.LatestAnchored = st.Latest
	} else {
		anchored, err := s.readCheckpoints(ctx, "checkpoint stats",
			`SELECT `+checkpointCols+` FROM log_checkpoints WHERE stamps > 0 ORDER BY size DESC LIMIT 1`)
		if err != nil {
			return st, err
		}
		if len(anchored) > 0 {
			st.LatestAnchored = &anchored[0]
		}
	}
	err = s.reader.QueryRowContext(ctx, s.q(`SELECT COUNT(*), MIN(created_at) FROM log_checkpoints WHERE stamps = 0`)).
		Scan(&st.Unanchored, nullTimeCol{&st.OldestUnanchored})
	if err != nil {
		return st, s.fail("checkpoint stats", err)
	}
	return st, nil
}

// readCheckpoints runs query (selecting checkpointCols) and reads the
// stamps of the checkpoints found.
func (s *DB) readCheckpoints(ctx context.Context, op, query string, args ...any) ([]store.LogCheckpoint, error) {
	rows, err := s.reader.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	var out []store.LogCheckpoint
	for rows.Next() {
		var c store.LogCheckpoint
		if err := rows.Scan(&c.Size, &c.Root, &c.Note, &c.Origin, &c.KeyID, timeCol{&c.CreatedAt}); err != nil {
			rows.Close()
			return nil, s.fail(op+": scan", err)
		}
		out = append(out, c)
	}
	if err := rows.Close(); err != nil {
		return nil, s.fail(op, err)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	if len(out) == 0 {
		return out, nil
	}
	at := make(map[int64]int, len(out))
	sizes := make([]any, len(out))
	for i, c := range out {
		at[c.Size] = i
		sizes[i] = c.Size
	}
	srows, err := s.reader.QueryContext(ctx, s.q(`SELECT size, tsa_url, token, certs, gen_time, serial, stamped_at
		FROM log_stamps WHERE size IN (`+placeholders(len(sizes))+`) ORDER BY size, stamped_at, tsa_url`), sizes...)
	if err != nil {
		return nil, s.fail(op+": stamps", err)
	}
	defer srows.Close()
	for srows.Next() {
		var st store.LogStamp
		if err := srows.Scan(&st.Size, &st.TSAURL, &st.Token, &st.Certs, timeCol{&st.GenTime}, &st.Serial, timeCol{&st.StampedAt}); err != nil {
			return nil, s.fail(op+": scan stamp", err)
		}
		i := at[st.Size]
		out[i].Stamps = append(out[i].Stamps, st)
	}
	if err := srows.Err(); err != nil {
		return nil, s.fail(op+": stamps", err)
	}
	return out, nil
}
