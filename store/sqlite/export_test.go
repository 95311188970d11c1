package sqlite

import "context"

// WriterCacheKiB is PRAGMA cache_size on db's writer connection
// (negative: KiB) and on one reader connection.
func WriterCacheKiB(ctx context.Context, db *DB) (writer, reader int64, err error) {
	if err = db.writer.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&writer); err != nil {
		return 0, 0, err
	}
	err = db.reader.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&reader)
	return writer, reader, err
}

// CheckpointOnce runs db's background checkpoint once, now.
func CheckpointOnce(ctx context.Context, db *DB) error { return db.ckpt.run(ctx) }

// CheckpointStats returns the PASSIVE and forced (TRUNCATE) checkpoints
// db's background checkpoint ran, and the most WAL frames it saw.
func CheckpointStats(db *DB) (passive, forced int, maxLog int64) { return db.ckpt.stats() }

// CheckpointBusyTimeout is PRAGMA busy_timeout on db's checkpoint
// connection, in ms.
func CheckpointBusyTimeout(t interface{ Fatal(...any) }, db *DB) int64 {
	var ms int64
	if err := db.ckpt.conn.QueryRowContext(context.Background(), "PRAGMA busy_timeout").Scan(&ms); err != nil {
		t.Fatal(err)
	}
	return ms
}
