package receiver

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// jetstreamPubAck is what jetstream's PublishMsg makes of a reply.
func jetstreamPubAck(data []byte) (*jetstream.PubAck, error) {
	var reply pubAckReply
	if err := json.Unmarshal(data, &reply); err != nil {
		return nil, jetstream.ErrInvalidJSAck
	}
	if reply.Error != nil {
		return nil, reply.Error
	}
	if reply.PubAck == nil || reply.Stream == "" {
		return nil, jetstream.ErrInvalidJSAck
	}
	return reply.PubAck, nil
}

var pubAckReplies = []string{
	`{"stream":"QYS_CALLBACKS","seq":1}`,
	`{"stream":"QYS_CALLBACKS","seq":18446744073709551615}`,
	`{"stream":"QYS_CALLBACKS","seq":18446744073709551616}`,
	`{"stream":"QYS_CALLBACKS","seq":42,"duplicate":true}`,
	`{"stream":"QYS_CALLBACKS","seq":42,"duplicate":false}`,
	`{"stream":"QYS_CALLBACKS","seq":42,"domain":"hub"}`,
	`{"stream":"QYS_CALLBACKS","seq":042}`,
	`{"stream":"QYS_CALLBACKS","seq":0}`,
	`{"stream":"QYS_CALLBACKS","seq":-1}`,
	`{"stream":"QYS_CALLBACKS","seq":}`,
	`{"stream":"QYS_CALLBACKS","seq":1} `,
	`{"stream":"QYS\"X","seq":1}`,
	`{"stream":"Q\u0059S","seq":1}`,
	`{"stream":"","seq":1}`,
	`{"seq":1}`,
	`{"stream":"S","seq":1,"duplicate":true`,
	`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S","seq":0}`,
	`{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"}}`,
	`{"type":"io.nats.jetstream.api.v1.pub_ack","stream":"S","seq":7}`,
	`not json`,
	``,
}

// TestParsePubAckAsJetStream: every reply reads as jetstream reads it
// (the same PubAck, or an error of the same kind), on the fast path or
// not.
func TestParsePubAckAsJetStream(t *testing.T) {
	for _, s := range pubAckReplies {
		checkPubAck(t, []byte(s))
	}
	fast := 0
	for _, s := range pubAckReplies {
		if _, ok := fastPubAck([]byte(s)); ok {
			fast++
		}
	}
	if fast != 4 { // seq 1, the largest seq, the duplicate, seq 0
		t.Fatalf("%d replies on the fast path, want 4", fast)
	}
}

func checkPubAck(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := jetstreamPubAck(data)
	got, err := parsePubAck(data)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, jetstream's %v", data, err, wantErr)
	}
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(wantErr, &apiErr) {
			var gotAPI *jetstream.APIError
			if !errors.As(err, &gotAPI) || gotAPI.ErrorCode != apiErr.ErrorCode {
				t.Fatalf("%q: error %v, want the API error %v", data, err, wantErr)
			}
		} else if !errors.Is(err, jetstream.ErrInvalidJSAck) {
			t.Fatalf("%q: error %v, want %v", data, err, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: %+v, jetstream's %+v", data, got, want)
	}
}

func FuzzParsePubAck(f *testing.F) {
	for _, s := range pubAckReplies {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkPubAck(t, data) })
}
