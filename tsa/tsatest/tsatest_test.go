package tsatest

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"testing"

	"github.com/digitorus/timestamp"
)

// FuzzAnswer: whatever a query holds, the answer is a TimeStampResp: a
// token over the query's own imprint, or a rejection (status 2) —
// never a token for a malformed query, never a crash.
func FuzzAnswer(f *testing.F) {
	r, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	good, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: make([]byte, 32), Certificates: true}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte("not DER"))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := r.answer("application/timestamp-query", body)
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		ts, perr := timestamp.ParseResponse(resp)
		if perr == nil {
			q, err := timestamp.ParseRequest(body)
			if err != nil {
				t.Fatalf("a token for a query that does not parse: %v", err)
			}
			if !bytes.Equal(ts.HashedMessage, q.HashedMessage) || ts.HashAlgorithm != q.HashAlgorithm {
				t.Fatal("the token's imprint is not the query's")
			}
			return
		}
		var st struct {
			Status struct {
				Status       int
				StatusString []string       `asn1:"optional,utf8"`
				FailInfo     asn1.BitString `asn1:"optional"`
			}
		}
		if rest, err := asn1.Unmarshal(resp, &st); err != nil || len(rest) > 0 || st.Status.Status != int(timestamp.Rejection) {
			t.Fatalf("neither a token nor a rejection: %v %x", err, resp)
		}
	})
}
