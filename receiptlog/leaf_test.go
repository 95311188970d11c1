package receiptlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func validLeaf() Leaf {
	return Leaf{V: 1, Kind: KindEvent, Tenant: "default", Ref: "ev-1",
		SHA256: strings.Repeat("ab", 32), BodySHA256: strings.Repeat("cd", 32),
		Type: "CONTRACT_COMPLETE", Source: "callback", Verdict: "verified", StreamSeq: 7,
		At: "2026-12-07T10:00:00.000000Z"}
}

func TestLeafGolden(t *testing.T) {
	b, err := validLeaf().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"kind":"event","tenant":"default","ref":"ev-1","sha256":"` + strings.Repeat("ab", 32) +
		`","body_sha256":"` + strings.Repeat("cd", 32) + `","type":"CONTRACT_COMPLETE","source":"callback","verdict":"verified","stream_seq":7,"at":"2026-12-07T10:00:00.000000Z"}`
	if string(b) != want {
		t.Fatalf("leaf bytes\n got %s\nwant %s", b, want)
	}
	l, err := Parse(b)
	if err != nil || l != validLeaf() {
		t.Fatalf("parse: %+v, %v", l, err)
	}
}

// foundLeaf is the canonical bytes of a found-edited contract leaf.
func foundLeaf(tb testing.TB) []byte {
	b, err := Leaf{V: 1, Kind: KindContract, Tenant: "default", Ref: "C1", SHA256: strings.Repeat("ef", 32),
		Found: FoundEdited}.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// foundNotLast is a found-edited leaf with "found" before "sha256".
func foundNotLast(tb testing.TB) string {
	return strings.Replace(strings.TrimSuffix(string(foundLeaf(tb)), `,"found":"edited"}`)+"}",
		`"sha256"`, `"found":"edited","sha256"`, 1)
}

// TestFoundLeafRoundTrip: the found field is the last one, left out when
// empty (so every leaf written before it keeps its bytes), and a leaf
// with it parses back to itself; any other value is refused.
func TestFoundLeafRoundTrip(t *testing.T) {
	b := foundLeaf(t)
	want := `{"v":1,"kind":"contract","tenant":"default","ref":"C1","sha256":"` + strings.Repeat("ef", 32) + `","found":"edited"}`
	if string(b) != want {
		t.Fatalf("leaf bytes\n got %s\nwant %s", b, want)
	}
	l, err := Parse(b)
	if err != nil || l.Found != FoundEdited {
		t.Fatalf("parse: %+v, %v", l, err)
	}
	full := validLeaf()
	full.Size, full.Found = 12, FoundEdited
	fb, err := full.Marshal()
	if err != nil || !strings.HasSuffix(string(fb), `,"size":12,"found":"edited"}`) {
		t.Fatalf("leaf with every field: %s, %v", fb, err)
	}
	if back, err := Parse(fb); err != nil || back != full {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	if _, err := (Leaf{V: 1, Kind: KindContract, Ref: "C1", SHA256: strings.Repeat("ef", 32), Found: "moved"}).Marshal(); err == nil {
		t.Fatal("found \"moved\" accepted")
	}
	old, _ := validLeaf().Marshal()
	if strings.Contains(string(old), "found") {
		t.Fatalf("a leaf without found writes it: %s", old)
	}
}

func TestParseRefuses(t *testing.T) {
	good, _ := validLeaf().Marshal()
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"ErrNotCanonicalSpace": {strings.Replace(string(good), `"v":1`, `"v": 1`, 1), ErrNotCanonical},
		"ErrNotCanonicalOrder": {`{"kind":"event","v":1,` + string(good)[len(`{"v":1,"kind":"event",`):], ErrNotCanonical},
		"ErrNotCanonicalEmpty": {strings.Replace(string(good), `,"at"`, `,"size":0,"at"`, 1), ErrNotCanonical},
		"UnknownField":         {strings.Replace(string(good), `"v":1`, `"v":1,"x":2`, 1), nil},
		"Version":              {strings.Replace(string(good), `"v":1`, `"v":2`, 1), nil},
		"BadHash":              {strings.Replace(string(good), "abab", "ABAB", 1), nil},
		"Trailing":             {string(good) + "{}", nil},
		"FoundUnknown":         {strings.TrimSuffix(string(foundLeaf(t)), `"edited"}`) + `"moved"}`, nil},
		"FoundEmpty":           {strings.Replace(string(good), `}`, `,"found":""}`, 1), ErrNotCanonical},
		"FoundNotLast":         {foundNotLast(t), ErrNotCanonical},
		"Empty":                {"", nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParse: Parse never panics, and what it accepts is exactly the
// canonical bytes of what it returns (one leaf, one byte string).
func FuzzParse(f *testing.F) {
	good, _ := validLeaf().Marshal()
	f.Add(good)
	f.Add([]byte(`{"v":1,"kind":"fact","tenant":"","ref":"f","sha256":"` + strings.Repeat("0", 64) + `"}`))
	f.Add([]byte(`{"v":1}`))
	f.Add(foundLeaf(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		again, err := l.Marshal()
		if err != nil {
			t.Fatalf("accepted %q but cannot marshal it: %v", b, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted %q, canonical form is %q", b, again)
		}
	})
}
