package sqlstore

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
)

// slowMembers is withMembers the long way: decode into a map, set, encode.
func slowMembers(payload []byte, set map[string]json.RawMessage) ([]byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil || members == nil {
		return nil, err
	}
	for k, v := range set {
		members[k] = v
	}
	return json.Marshal(members)
}

var memberPayloads = []string{
	`{}`,
	`{"a":1}`,
	`{"seq":3,"a":1}`,
	`{"z":{"x":[1,2,{"y":"a,b}]"}]},"a":"q\"uote\\","m":null,"n":-1.5e3,"t":true,"f":false}`,
	`{"a": 1}`,               // whitespace
	`{"a":1} `,               // trailing whitespace
	`{"a":"<b>"}`,            // escaped by encoding/json
	`{"a":"x\u2028y"}`,       // escaped form: kept
	"{\"a\":\"x\u2028y\"}",   // raw U+2028: escaped by encoding/json
	`{"a":1,"a":2}`,          // repeated key
	`{"a\u0062":1,"ab":2}`,   // escaped key
	`{"é":1}`,                // non-ASCII key
	`{"seq":1,"seq":2}`,      // repeated key that is set
	`{"d":{"seq":9},"e":[]}`, // nested member of a set name
	`{"a":"中文","b":"\ud83d\ude00"}`,
}

// TestWithMembersSplice: the splice gives byte for byte what decoding into
// a map and encoding gives, for facts as the dispatcher encodes them and
// for payloads it must hand to the long way.
func TestWithMembersSplice(t *testing.T) {
	f := events.Fact{Schema: events.SchemaLedgerV1, ID: "f1", Tenant: "t", Kind: events.FactContractStatus,
		ContractID: "c1", Status: "SIGNING", Confirmed: true, Source: "callback", CauseEventID: "e1",
		OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Detail:     json.RawMessage(`{"contract": {"id":"1","subject":"合同 <甲> & 乙","signatories":[{"tenantName":"甲方"}]}}`)}
	enc, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	sets := []map[string]json.RawMessage{
		{"seq": json.RawMessage("7")},
		{"id": json.RawMessage(`"f1-after"`), "previous_status": json.RawMessage(`"DRAFT"`), "seq": json.RawMessage("2")},
		{"a": json.RawMessage(`{"x": 1}`)}, // a set value encoding/json compacts
		{},
	}
	for _, p := range append(memberPayloads, string(enc)) {
		for _, set := range sets {
			want, werr := slowMembers([]byte(p), set)
			got, gerr := withMembers([]byte(p), set)
			if werr != nil || gerr != nil {
				t.Fatalf("%s: slow %v, withMembers %v", p, werr, gerr)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s + %s:\n got %s\nwant %s", p, set, got, want)
			}
		}
	}
	if _, ok := spliceMembers(enc, map[string]json.RawMessage{"seq": json.RawMessage("7")}); !ok {
		t.Error("a fact as the dispatcher encodes it took the long way")
	}
}

// TestWithMembersInvalid: a payload that is not a JSON object is still a
// clear error.
func TestWithMembersInvalid(t *testing.T) {
	for _, p := range []string{`{"a":`, `{"a":1}}`, `[1,2]`, `"s"`, `{"a":[1,,2]}`, `{"a":1,}`, `null`, `{"a" 1}`} {
		_, err := withMembers([]byte(p), map[string]json.RawMessage{"seq": json.RawMessage("1")})
		if err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Errorf("%s: err %v, want not a JSON object", p, err)
		}
	}
}

func FuzzWithMembers(f *testing.F) {
	for _, p := range memberPayloads {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" {
			return // stays empty, by design
		}
		set := map[string]json.RawMessage{"seq": json.RawMessage("5"), "id": json.RawMessage(`"x"`)}
		want, werr := slowMembers([]byte(p), set)
		got, gerr := withMembers([]byte(p), set)
		if (werr != nil || want == nil) != (gerr != nil) {
			t.Fatalf("%q: slow %v %s, withMembers %v", p, werr, want, gerr)
		}
		if gerr == nil && !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", p, got, want)
		}
	})
}

func BenchmarkWithMembers(b *testing.B) {
	detail := json.RawMessage(`{"id":"3101","bizId":"b-1","subject":"burst","status":"SIGNING","signatories":[{"tenantType":"COMPANY","tenantName":"甲方","status":"SIGNING","contact":"13800000000"}],"documents":[{"id":"d1","title":"合同"}]}`)
	f := events.Fact{Schema: events.SchemaLedgerV1, ID: "f1", Tenant: "t", Kind: events.FactContractStatus,
		ContractID: "c1", Status: "SIGNING", Confirmed: true, Source: "callback", CauseEventID: "e1",
		OccurredAt: time.Now().UTC(), Detail: detail}
	enc, _ := json.Marshal(f)
	set := map[string]json.RawMessage{"id": json.RawMessage(`"f1-after"`), "previous_status": json.RawMessage(`"DRAFT"`), "seq": json.RawMessage("2")}
	b.Run("splice", func(b *testing.B) {
		for b.Loop() {
			_, _ = withMembers(enc, set)
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			_, _ = slowMembers(enc, set)
		}
	})
}
