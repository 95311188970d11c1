package admin

import (
	"errors"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	c := cursor{List: "contracts", UpdatedAt: time.Date(2025, 6, 1, 8, 0, 0, 123456000, time.UTC), Tenant: "默认", ID: "c/1", Num: 7}
	got, err := decodeCursor(c.encode(), "contracts")
	if err != nil || got == nil || *got != c {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", c, got, err)
	}
	if _, err := decodeCursor(c.encode(), "dead-letters"); !errors.Is(err, errBadCursor) {
		t.Errorf("cursor of another listing: err = %v, want errBadCursor", err)
	}
	for _, bad := range []string{"!!", "e30", "bnVsbA", string(make([]byte, maxCursorLen+1))} {
		if _, err := decodeCursor(bad, "contracts"); !errors.Is(err, errBadCursor) {
			t.Errorf("decodeCursor(%q) err = %v, want errBadCursor", bad, err)
		}
	}
	if got, err := decodeCursor("", "contracts"); got != nil || err != nil {
		t.Errorf("empty cursor = %+v, %v; want first page", got, err)
	}
}

// FuzzDecodeCursor: any token either fails with errBadCursor or decodes to
// a cursor of the listing that encodes back to an equivalent cursor.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{List: "contracts", UpdatedAt: time.Unix(1700000000, 0).UTC(), Tenant: "t", ID: "c1"}.encode())
	f.Add(cursor{List: "contracts", Num: 42}.encode())
	f.Add("")
	f.Add("eyJsIjoiY29udHJhY3RzIiwidCI6IjAwMDAifQ")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := decodeCursor(token, "contracts")
		if err != nil {
			if !errors.Is(err, errBadCursor) {
				t.Fatalf("err = %v, want errBadCursor", err)
			}
			return
		}
		if c == nil {
			if token != "" {
				t.Fatalf("nil cursor for %q", token)
			}
			return
		}
		again, err := decodeCursor(c.encode(), "contracts")
		if err != nil || again.List != c.List || again.Tenant != c.Tenant || again.ID != c.ID ||
			again.Num != c.Num || !again.UpdatedAt.Equal(c.UpdatedAt) {
			t.Fatalf("round trip of %+v = %+v, %v", c, again, err)
		}
	})
}
