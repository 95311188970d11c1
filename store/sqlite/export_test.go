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
