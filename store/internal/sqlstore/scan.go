package sqlstore

import (
	"fmt"
	"time"
)

// textTime is how SQLite stores times: UTC, fixed width, microseconds, so
// text order is time order and values compare with < and >.
const textTime = "2006-01-02T15:04:05.000000Z"

// timeArg converts t for the driver: UTC, truncated to microseconds (what
// PostgreSQL keeps), as text for SQLite.
func (s *DB) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.d.TextTime {
		return t.Format(textTime)
	}
	return t
}

// nullTimeArg is timeArg for an optional time.
func (s *DB) nullTimeArg(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return s.timeArg(*t)
}

// jsonArg passes JSON as text (NULL when empty), which SQLite's JSON
// functions and PostgreSQL's json type both read.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// bytesArg passes opaque bytes (NULL when nil).
func bytesArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// timeCol scans a time column, text or native, into a UTC time.Time.
type timeCol struct{ dst *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	t, ok, err := parseTime(src)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("scan time: unexpected NULL")
	}
	*c.dst = t
	return nil
}

// nullTimeCol scans a nullable time column.
type nullTimeCol struct{ dst **time.Time }

// Scan implements sql.Scanner.
func (c nullTimeCol) Scan(src any) error {
	t, ok, err := parseTime(src)
	if err != nil {
		return err
	}
	if !ok {
		*c.dst = nil
		return nil
	}
	*c.dst = &t
	return nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"}

func parseTime(src any) (time.Time, bool, error) {
	var text string
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return v.UTC(), true, nil
	case string:
		text = v
	case []byte:
		text = string(v)
	case int64:
		return time.UnixMilli(v).UTC(), true, nil
	default:
		return time.Time{}, false, fmt.Errorf("scan time: unsupported type %T", src)
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			return t.UTC(), true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("scan time: cannot parse %q", text)
}
