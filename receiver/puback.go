package receiver

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// pubAckReply is a JetStream publish reply, as jetstream decodes it.
type pubAckReply struct {
	Error *jetstream.APIError `json:"error,omitempty"`
	*jetstream.PubAck
}

// parsePubAck reads a JetStream publish reply as jetstream's PublishMsg
// does, with the same errors (jetstream.ErrInvalidJSAck; an API error
// wrapped as "nats: %w"). The replies nats-server sends for a stored or
// duplicate message ({"stream":…,"seq":…[,"duplicate":true]}) are read
// in place; anything else goes through encoding/json.
func parsePubAck(data []byte) (*jetstream.PubAck, error) {
	if ack, ok := fastPubAck(data); ok {
		return ack, nil
	}
	var reply pubAckReply
	if err := json.Unmarshal(data, &reply); err != nil {
		return nil, jetstream.ErrInvalidJSAck
	}
	if reply.Error != nil {
		return nil, fmt.Errorf("nats: %w", reply.Error)
	}
	if reply.PubAck == nil || reply.Stream == "" {
		return nil, jetstream.ErrInvalidJSAck
	}
	return reply.PubAck, nil
}

var (
	ackStream    = []byte(`{"stream":"`)
	ackSeq       = []byte(`","seq":`)
	ackDuplicate = []byte(`,"duplicate":true}`)
)

// fastPubAck reads exactly {"stream":"NAME","seq":N} or the same with
// ,"duplicate":true before the brace, NAME printable ASCII without
// escapes, N a decimal
// without sign or leading zero that fits a uint64. ok is false for any
// other text.
func fastPubAck(b []byte) (*jetstream.PubAck, bool) {
	if !bytes.HasPrefix(b, ackStream) {
		return nil, false
	}
	b = b[len(ackStream):]
	end := 0
	for ; end < len(b) && b[end] != '"'; end++ {
		if c := b[end]; c < 0x20 || c > 0x7e || c == '\\' {
			return nil, false // escapes, control characters and non-ASCII go through encoding/json
		}
	}
	if end == 0 || !bytes.HasPrefix(b[end:], ackSeq) {
		return nil, false
	}
	ack := &jetstream.PubAck{Stream: string(b[:end])}
	b = b[end+len(ackSeq):]
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if ack.Sequence > (^uint64(0)-d)/10 {
			return nil, false
		}
		ack.Sequence = ack.Sequence*10 + d
	}
	if i == 0 || (i > 1 && b[0] == '0') {
		return nil, false
	}
	switch rest := b[i:]; {
	case len(rest) == 1 && rest[0] == '}':
	case bytes.Equal(rest, ackDuplicate):
		ack.Duplicate = true
	default:
		return nil, false
	}
	return ack, true
}
