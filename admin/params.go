package admin

import (
	"github.com/go-chi/chi/v5"

	"github.com/qyshook/qyshook/adminapi"

	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxParamLen bounds one query parameter value.
const maxParamLen = 256

// query reads a request's query parameters and refuses unknown ones, so a
// misspelt filter is a 400 instead of a silently wider listing.
type query struct {
	v url.Values
}

func parseQuery(r *http.Request, allowed ...string) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, errorf(adminapi.CodeBadRequest, "query string: %v", err)
	}
	for name, vals := range v {
		if !slices.Contains(allowed, name) {
			sort.Strings(allowed)
			return query{}, errorf(adminapi.CodeBadRequest, "unknown query parameter %q; this route takes %s",
				name, strings.Join(allowed, ", "))
		}
		if len(vals) > 1 && name != "status" {
			return query{}, badRequest(name, "given %d times; give it once", len(vals))
		}
		for _, s := range vals {
			if len(s) > maxParamLen {
				return query{}, badRequest(name, "longer than %d bytes", maxParamLen)
			}
		}
	}
	return query{v}, nil
}

func (q query) str(name string) string { return strings.TrimSpace(q.v.Get(name)) }

// required returns a parameter that must be present.
func (q query) required(name string) (string, error) {
	s := q.str(name)
	if s == "" {
		return "", badRequest(name, "required")
	}
	return s, nil
}

// limit reads ?limit= (1 to adminapi.MaxLimit, default adminapi.DefaultLimit).
func (q query) limit() (int, error) {
	s := q.str("limit")
	if s == "" {
		return adminapi.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > adminapi.MaxLimit {
		return 0, badRequest("limit", "%q is not a number from 1 to %d", s, adminapi.MaxLimit)
	}
	return n, nil
}

// time reads an RFC 3339 time.
func (q query) time(name string) (time.Time, error) {
	s := q.str(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest(name, "%q is not an RFC 3339 time such as 2025-06-01T08:00:00Z or 2025-06-01T16:00:00+08:00", s)
	}
	return t, nil
}

// list reads a comma-separated or repeated parameter.
func (q query) list(name string) []string {
	var out []string
	for _, v := range q.v[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// boolean reads an optional true or false; nil when absent.
func (q query) boolean(name string) (*bool, error) {
	switch v := strings.ToLower(q.str(name)); v {
	case "":
		return nil, nil
	case "true", "false":
		b := v == "true"
		return &b, nil
	default:
		return nil, badRequest(name, "%q is not true or false", v)
	}
}

// cursor reads ?cursor= for listing list.
func (q query) cursor(list string) (*cursor, error) {
	c, err := decodeCursor(q.str("cursor"), list)
	if err != nil {
		return nil, badRequest("cursor", "%v", err)
	}
	return c, nil
}

// paged returns the first limit items and the cursor after them when
// more follow (the caller fetched limit+1).
func paged[T any](items []T, limit int, next func(last T) cursor) adminapi.Page[T] {
	if items == nil {
		items = []T{}
	}
	p := adminapi.Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = next(items[limit-1]).encode()
	}
	return p
}

// pathParam is the route parameter name, unescaped: chi routes on the
// escaped path when the request has one (an id holding '/' arrives as
// %2F), so its parameters are then still escaped.
func pathParam(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}
