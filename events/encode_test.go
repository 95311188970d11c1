package events_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
)

// encodeCases are envelopes at the edges of the fast encoder: escapes,
// empty and missing optional parts, payloads it must hand to encoding/json.
func encodeCases() []events.Envelope {
	base := sampleEnvelope()
	var out []events.Envelope
	add := func(f func(e *events.Envelope)) {
		e := base
		a := *base.Actor
		e.Actor = &a
		f(&e)
		out = append(out, e)
	}
	add(func(*events.Envelope) {})
	add(func(e *events.Envelope) {
		e.Actor, e.OccurredAt, e.ContractID, e.ContractStatus, e.BusinessData = nil, nil, "", "", ""
	})
	add(func(e *events.Envelope) { e.Actor = &events.Actor{} })
	add(func(e *events.Envelope) { e.Actor = &events.Actor{Contact: "c"} })
	add(func(e *events.Envelope) {
		e.Auth = &events.Auth{RequestID: "r", Status: "1", Success: true, Mode: "FACE", Name: "张三", FailReason: "x<y>&z", ActionEvent: "1"}
	})
	add(func(e *events.Envelope) { e.Auth = &events.Auth{} })
	add(func(e *events.Envelope) {
		e.BusinessData = "q\"uo\\te\b\f\n\r\t\x01\x1f<>&\u2028\u2029\xff\xfe中文 end"
		e.Actor.TenantName = "a\u2028b\xc3"
	})
	add(func(e *events.Envelope) { e.Payload = nil })
	add(func(e *events.Envelope) { e.Payload = json.RawMessage(`{"a": 1}`) })
	add(func(e *events.Envelope) { e.Payload = json.RawMessage(`{"a":"<b>&"}`) })
	add(func(e *events.Envelope) { e.Payload = json.RawMessage(`{"a":"\u2028 ` + "\u2028\u2029\u2027" + `"}`) })
	add(func(e *events.Envelope) { e.Payload = json.RawMessage(`{"a":"` + "\u2027\xe2" + `"}`) })
	add(func(e *events.Envelope) { e.Payload = json.RawMessage(`[1,"x",null,true,{"b":-1.5e3}]`) })
	add(func(e *events.Envelope) { e.Payload = json.RawMessage(`{"a":`) })
	add(func(e *events.Envelope) { e.Payload = json.RawMessage{} })
	add(func(e *events.Envelope) {
		e.ReceivedAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 8*3600))
	})
	add(func(e *events.Envelope) { e.ReceivedAt = time.Time{} })
	add(func(e *events.Envelope) { e.ReceivedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })
	add(func(e *events.Envelope) { t := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC); e.OccurredAt = &t })
	return out
}

// TestAppendEncodeMatchesMarshal pins Encode to json.Marshal: the wire
// format of QYS_CALLBACKS does not depend on which path wrote it.
func TestAppendEncodeMatchesMarshal(t *testing.T) {
	for i, e := range encodeCases() {
		checkEncode(t, i, &e)
	}
}

func checkEncode(t *testing.T, i int, e *events.Envelope) {
	t.Helper()
	want, wantErr := json.Marshal(e)
	got, err := e.Encode()
	if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("case %d: Encode = %s, %v; json.Marshal = %s, %v", i, got, err, want, wantErr)
	}
	prefix := []byte("prefix")
	app, err := e.AppendEncode(prefix)
	if wantErr == nil && (err != nil || string(app) != "prefix"+string(want)) {
		t.Fatalf("case %d: AppendEncode = %s, %v", i, app, err)
	}
}

// FuzzAppendEncode compares Encode with json.Marshal on arbitrary strings
// and payloads.
func FuzzAppendEncode(f *testing.F) {
	f.Add("SEAL", "order<42>&\u2028", "某某", []byte(`{"contractId":"1"}`), int64(0), true)
	f.Add("", "\xff", "", []byte(`{"a": [1, 2]}`), int64(-62167219200), false)
	f.Add("x", "", "\x00", []byte(`nope`), int64(253402300800), true)
	f.Add("y", "", "", []byte(" {\"a\" : \"x y<\\\"&>\u2029\\\\\" ,\n\t\"b\":[ true ,null]}\r"), int64(1), false)
	f.Add("z", "", "", []byte(`"\u00e9 \u2028"`), int64(2), false)
	f.Fuzz(func(t *testing.T, typ, biz, name string, payload []byte, unix int64, auth bool) {
		e := sampleEnvelope()
		e.Type, e.BusinessData, e.Actor.TenantName, e.Payload = typ, biz, name, payload
		e.ReceivedAt = time.Unix(unix, 0).UTC()
		if auth {
			e.Auth = &events.Auth{RequestID: typ, Name: name, FailReason: biz}
		}
		checkEncode(t, 0, &e)
	})
}
