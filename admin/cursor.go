package admin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// cursor is a position in one listing, sent to clients as an opaque
// token: base64url (no padding) of a small JSON object. List says which
// listing it belongs to, so a cursor from another listing is refused.
type cursor struct {
	List      string    `json:"l"`
	UpdatedAt time.Time `json:"t,omitzero"`
	Tenant    string    `json:"n,omitempty"`
	ID        string    `json:"i,omitempty"`
	Sub       string    `json:"u,omitempty"` // a second key (documents: the contract id)
	Num       int64     `json:"s,omitempty"`
}

// maxCursorLen bounds a cursor token; real ones are well under 1 KiB.
const maxCursorLen = 2048

// errBadCursor is the one answer for any token that is not a cursor of
// the listing, so a client never learns more from a forged one.
var errBadCursor = errors.New("cursor is not valid for this listing (pass next_cursor back unchanged)")

// encode returns the token.
func (c cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of strings, a time and an int cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a token for listing list; "" is the first page (nil).
func decodeCursor(token, list string) (*cursor, error) {
	if token == "" {
		return nil, nil
	}
	if len(token) > maxCursorLen {
		return nil, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, errBadCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.List != list {
		return nil, errBadCursor
	}
	return &c, nil
}
