package qys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Bounds on what Verify parses.
const (
	// MaxCallbackBody is the largest callback body Verify accepts (16 MiB;
	// the receiver caps bodies far lower).
	MaxCallbackBody = 16 << 20
	maxFormParts    = 256
)

// fields are a callback's parameters: form or multipart fields as
// strings, or the members of a JSON object body.
type fields struct {
	vals map[string][]string
	// obj is the body's JSON object, when the body was JSON.
	obj map[string]json.RawMessage
}

// one returns the single value of key from the body, else from query.
// Conflicting or repeated values are malformed.
func (f *fields) one(query url.Values, key string) (string, error) {
	if len(query[key]) == 0 {
		switch vs := f.vals[key]; len(vs) {
		case 0:
			return "", nil
		case 1:
			return vs[0], nil
		}
		return "", fmt.Errorf("%w: %s sent more than once", ErrMalformed, key)
	}
	seen := append([]string(nil), f.vals[key]...)
	for _, v := range query[key] {
		if len(seen) == 0 || seen[0] != v {
			seen = append(seen, v)
		}
	}
	switch {
	case len(seen) == 0:
		return "", nil
	case len(seen) > 1:
		return "", fmt.Errorf("%w: %s sent more than once", ErrMalformed, key)
	}
	return seen[0], nil
}

// parseFields decodes a format-A body: urlencoded, multipart or JSON.
func parseFields(req RawRequest) (*fields, error) {
	ct := req.ContentType
	if ct == "" && req.Header != nil {
		ct = req.Header.Get("Content-Type")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "", nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: content type: %w", ErrMalformed, err)
	}
	trimmed := bytes.TrimSpace(req.Body)
	switch {
	case mt == "application/x-www-form-urlencoded":
		return parseForm(req.Body)
	case mt == "multipart/form-data":
		return parseMultipart(req.Body, params["boundary"])
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"):
		return parseJSONFields(req.Body)
	case (mt == "" || mt == "text/plain") && len(trimmed) > 0 && trimmed[0] == '{':
		return parseJSONFields(req.Body)
	case mt == "" || mt == "text/plain":
		return parseForm(req.Body)
	}
	return nil, fmt.Errorf("%w: unsupported content type %q", ErrMalformed, truncate([]byte(mt), 64))
}

func parseForm(b []byte) (*fields, error) {
	vals, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w: form: %w", ErrMalformed, err)
	}
	for k, vs := range vals {
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("%w: form field name is not UTF-8", ErrMalformed)
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, fmt.Errorf("%w: form field %q is not UTF-8", ErrMalformed, truncate([]byte(k), 32))
			}
		}
	}
	return &fields{vals: vals}, nil
}

func parseMultipart(b []byte, boundary string) (*fields, error) {
	if boundary == "" {
		return nil, fmt.Errorf("%w: multipart without boundary", ErrMalformed)
	}
	mr := multipart.NewReader(bytes.NewReader(b), boundary)
	vals := url.Values{}
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: multipart: %w", ErrMalformed, err)
		}
		if i >= maxFormParts {
			return nil, fmt.Errorf("%w: more than %d multipart parts", ErrMalformed, maxFormParts)
		}
		name := p.FormName()
		v, err := io.ReadAll(io.LimitReader(p, MaxCallbackBody))
		if err != nil {
			return nil, fmt.Errorf("%w: multipart: %w", ErrMalformed, err)
		}
		if name == "" {
			continue
		}
		if !utf8.ValidString(name) || !utf8.Valid(v) {
			return nil, fmt.Errorf("%w: multipart field is not UTF-8", ErrMalformed)
		}
		vals.Add(name, string(v))
	}
	return &fields{vals: vals}, nil
}

// parseJSONFields reads a JSON object body; string and scalar members
// become field values.
func parseJSONFields(b []byte) (*fields, error) {
	obj, err := decodeObject(b)
	if err != nil {
		return nil, err
	}
	vals := url.Values{}
	for k, raw := range obj {
		if s, ok := scalar(raw); ok {
			vals.Set(k, s)
		}
	}
	return &fields{vals: vals, obj: obj}, nil
}

// decodeObject parses b as a UTF-8 JSON object in one pass. The values
// are slices of b (see scanObject). Errors wrap ErrMalformed.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	obj, err := scanObject(t)
	if err != nil {
		// The refusal is rare: let encoding/json say what is wrong.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, fmt.Errorf("%w: json: %w", ErrMalformed, err)
		}
		return nil, fmt.Errorf("%w: json: %w", ErrMalformed, err)
	}
	return obj, nil
}

// scalar returns a JSON string's value, or a number's or boolean's
// literal; ok is false for null, objects and arrays.
func scalar(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "", false
	}
	switch t[0] {
	case '"':
		if len(t) >= 2 && t[len(t)-1] == '"' && bytes.IndexByte(t[1:len(t)-1], '\\') < 0 && utf8.Valid(t) {
			// No escape: the text between the quotes is the value (a
			// decoded object's strings are valid JSON and UTF-8).
			return string(t[1 : len(t)-1]), true
		}
		var s string
		if json.Unmarshal(t, &s) != nil {
			return "", false
		}
		return s, true
	case '{', '[', 'n':
		return "", false
	}
	return string(t), true
}

// str returns obj[key] as text: a string's value, a scalar's literal, or
// an object's or array's JSON text; "" when missing or null.
func str(obj map[string]json.RawMessage, key string) string {
	raw, ok := obj[key]
	if !ok {
		return ""
	}
	if s, ok := scalar(raw); ok {
		return s
	}
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return string(t)
	}
	return ""
}

// firstOf returns the first non-empty str among keys.
func firstOf(obj map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		if s := str(obj, k); s != "" {
			return s
		}
	}
	return ""
}
