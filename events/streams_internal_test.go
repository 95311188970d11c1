package events

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestKeepHigher: a start-up never lowers replicas or limits, treating
// zero and negative as unlimited; it does raise them.
func TestKeepHigher(t *testing.T) {
	live := jetstream.StreamConfig{Name: "S", Replicas: 3, MaxBytes: -1, MaxAge: time.Hour, MaxMsgs: 10, MaxMsgSize: 1 << 20, Duplicates: time.Hour}
	want := jetstream.StreamConfig{Name: "S", Replicas: 1, MaxBytes: 1 << 30, MaxAge: 0, MaxMsgs: 5, MaxMsgSize: 4 << 20, Duplicates: time.Minute}
	got, kept := keepHigher(live, want)
	if got.Replicas != 3 || got.MaxBytes != -1 || got.MaxAge != 0 || got.MaxMsgs != 10 || got.MaxMsgSize != 4<<20 || got.Duplicates != time.Hour {
		t.Fatalf("merged %+v", got)
	}
	limits := map[string]bool{}
	for _, k := range kept {
		limits[k.Limit] = true
	}
	for _, l := range []string{"replicas", "max_bytes", "max_msgs", "duplicates"} {
		if !limits[l] {
			t.Errorf("%s not reported as kept: %+v", l, kept)
		}
	}
	if limits["max_age"] || limits["max_msg_size"] {
		t.Errorf("raised limits reported as kept: %+v", kept)
	}
}
