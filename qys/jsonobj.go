package qys

import (
	"encoding/json"
	"errors"
)

// maxNesting is encoding/json's nesting limit, kept so that exactly the
// same inputs are refused.
const maxNesting = 10000

// errJSONSyntax is the error of scanObject for text that json.Unmarshal
// refuses (decodeObject wraps it in ErrMalformed).
var errJSONSyntax = errors.New("invalid JSON")

// scanObject decodes a JSON object in one validating pass: it accepts and
// refuses exactly what json.Unmarshal into a map[string]json.RawMessage
// does (given UTF-8 input), with the same result (keys unescaped, the last
// of repeated keys wins), but its values are slices of b rather than
// copies: b must not change while the map is in use.
func scanObject(b []byte) (map[string]json.RawMessage, error) {
	s := objScanner{b: b}
	s.space()
	if !s.eat('{') {
		return nil, errJSONSyntax
	}
	obj := make(map[string]json.RawMessage, 16)
	s.space()
	if !s.eat('}') {
		for {
			s.space()
			ks := s.i
			esc, ok := s.str()
			if !ok {
				return nil, errJSONSyntax
			}
			var key string
			if esc {
				if json.Unmarshal(b[ks:s.i], &key) != nil {
					return nil, errJSONSyntax
				}
			} else {
				key = string(b[ks+1 : s.i-1])
			}
			s.space()
			if !s.eat(':') {
				return nil, errJSONSyntax
			}
			s.space()
			vs := s.i
			if !s.value(1) {
				return nil, errJSONSyntax
			}
			obj[key] = b[vs:s.i:s.i]
			s.space()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				break
			}
			return nil, errJSONSyntax
		}
	}
	s.space()
	if s.i != len(b) {
		return nil, errJSONSyntax
	}
	return obj, nil
}

// objScanner walks JSON text; i is the next byte.
type objScanner struct {
	b []byte
	i int
}

func (s *objScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *objScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value skips one value; depth counts the enclosing containers.
func (s *objScanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{' || c == '[':
		return s.container(depth + 1)
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	}
	return false
}

func (s *objScanner) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// container skips an object or array opened at s.i.
func (s *objScanner) container(depth int) bool {
	if depth > maxNesting {
		return false
	}
	open := s.b[s.i]
	close := byte('}')
	if open == '[' {
		close = ']'
	}
	s.i++
	s.space()
	if s.eat(close) {
		return true
	}
	for {
		s.space()
		if open == '{' {
			if _, ok := s.str(); !ok {
				return false
			}
			s.space()
			if !s.eat(':') {
				return false
			}
			s.space()
		}
		if !s.value(depth) {
			return false
		}
		s.space()
		if s.eat(',') {
			continue
		}
		return s.eat(close)
	}
}

// str skips a string starting at s.i; esc reports a backslash in it.
func (s *objScanner) str() (esc, ok bool) {
	if !s.eat('"') {
		return false, false
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return esc, true
		case c < 0x20:
			return false, false
		case c == '\\':
			esc = true
			s.i++
			if s.i >= len(s.b) {
				return false, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				if len(s.b)-s.i < 4 {
					return false, false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !isHex(h) {
						return false, false
					}
				}
				s.i += 4
			default:
				return false, false
			}
		default:
			s.i++
		}
	}
	return false, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number skips a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *objScanner) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits skips [0-9]* and reports whether there was at least one.
func (s *objScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
