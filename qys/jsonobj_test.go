package qys

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonObjectSeeds are objects, valid and not, at the edges of the grammar.
var jsonObjectSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":"x","a":"y"}`, `{"a":null}`, `{"a":[1,{"b":[]}],"c":{}}`,
	`{"contractId":3121362688614077231,"status":"SIGNING","n":-0.5e+10,"t":true,"f":false}`,
	`{"k\u00e9y":"v\"al\\ue","\ud800":"\udc00x","e":"\/\b\f\n\r\t"}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":"x\u12"}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a" 1}`, `{"a":1,}`, `{,}`, `{"a":1}x`, `{"a":1}{}`,
	`{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b"}}`, `{"a":{"b":1,}}`, `{1:2}`, `{"a":1 "b":2}`, `{"a"`, `{`,
	"{\"a\"\t:\n1\r}", `{"a":"中文","b":"\u4e2d"}`, `{"a":[[[[[[]]]]]]}`, `{"a":1.5E-3}`, `{"a":-0}`,
}

// TestScanObjectMatchesEncodingJSON pins scanObject to encoding/json.
func TestScanObjectMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonObjectSeeds {
		checkScanObject(t, []byte(s))
	}
	deep := strings.Repeat("[", maxNesting-1) + strings.Repeat("]", maxNesting-1)
	checkScanObject(t, []byte(`{"a":`+deep+`}`))
	deeper := strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting)
	checkScanObject(t, []byte(`{"a":`+deeper+`}`))
}

// FuzzScanObject compares scanObject and scalar with encoding/json on
// arbitrary objects.
func FuzzScanObject(f *testing.F) {
	for _, s := range jsonObjectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkScanObject(t, b)
	})
}

func checkScanObject(t *testing.T, b []byte) {
	t.Helper()
	t0 := bytes.TrimSpace(b)
	if !utf8.Valid(b) || len(t0) == 0 || t0[0] != '{' {
		return // decodeObject refuses these before scanning
	}
	var want map[string]json.RawMessage
	wantErr := json.Unmarshal(b, &want)
	got, err := scanObject(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: scanObject error %v, encoding/json error %v", b, err, wantErr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: scanObject %q, encoding/json %q", b, got, want)
	}
	for k, raw := range want {
		var s string
		wantS, wantOK := "", false
		switch c := bytes.TrimSpace(raw); {
		case c[0] == '"':
			wantOK = json.Unmarshal(c, &s) == nil
			wantS = s
		case c[0] == '{' || c[0] == '[' || c[0] == 'n':
		default:
			wantS, wantOK = string(c), true
		}
		if gotS, ok := scalar(got[k]); ok != wantOK || gotS != wantS {
			t.Fatalf("%q: scalar(%q) = %q, %v; want %q, %v", b, got[k], gotS, ok, wantS, wantOK)
		}
	}
}
