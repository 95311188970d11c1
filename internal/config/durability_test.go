package config

import (
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/dispatcher"
)

// TestDurabilitySettings: QYSHOOK_NATS_SYNC, QYSHOOK_SHUTDOWN_TIMEOUT and
// the callback stream's age limit.
func TestDurabilitySettings(t *testing.T) {
	load := func(vars map[string]string) (*Config, error) {
		vars["QYSHOOK_CALLBACK_SECRET"] = "0123456789abcdef"
		return Load(func(k string) string { return vars[k] })
	}
	c, err := load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSSyncInterval != 0 || c.Dispatch.ShutdownTimeout != dispatcher.DefaultShutdownTimeout || c.Stream.CallbackMaxAge != 0 {
		t.Fatalf("defaults: sync %v shutdown %v callback max age %v", c.NATSSyncInterval, c.Dispatch.ShutdownTimeout, c.Stream.CallbackMaxAge)
	}
	c, err = load(map[string]string{"QYSHOOK_NATS_SYNC": "2m", "QYSHOOK_SHUTDOWN_TIMEOUT": "5s", "QYSHOOK_STREAM_MAX_AGE": "240h"})
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSSyncInterval != 2*time.Minute || c.Dispatch.ShutdownTimeout != 5*time.Second || c.Stream.CallbackMaxAge != 240*time.Hour {
		t.Fatalf("set: sync %v shutdown %v callback max age %v", c.NATSSyncInterval, c.Dispatch.ShutdownTimeout, c.Stream.CallbackMaxAge)
	}
	if c, err = load(map[string]string{"QYSHOOK_NATS_SYNC": "Always"}); err != nil || c.NATSSyncInterval != 0 || c.NATSSyncEachWrite {
		t.Fatalf("always: %v %v", c, err)
	}
	if c, err = load(map[string]string{"QYSHOOK_NATS_SYNC": "each-write"}); err != nil || c.NATSSyncInterval != 0 || !c.NATSSyncEachWrite {
		t.Fatalf("each-write: %v %v", c, err)
	}
	if c, err = load(map[string]string{"QYSHOOK_NATS_SYNC": "grouped-syncfs"}); err != nil || c.NATSSyncInterval != 0 || c.NATSSyncEachWrite || !c.NATSSyncFS {
		t.Fatalf("grouped-syncfs: %v %v", c, err)
	}
	for name, v := range map[string]string{"QYSHOOK_NATS_SYNC": "sometimes", "QYSHOOK_SHUTDOWN_TIMEOUT": "1h"} {
		if _, err := load(map[string]string{name: v}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, v, err)
		}
	}
	if _, err := load(map[string]string{"QYSHOOK_NATS_SYNC": "-1s"}); err == nil {
		t.Error("negative sync interval accepted")
	}
}
