package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamSettings sizes the streams. Zero fields take the defaults below.
type StreamSettings struct {
	// MaxAge is how long callbacks and facts are kept (default 30 days).
	MaxAge time.Duration
	// MaxBytes caps each stream's size (default -1: no cap, retention by
	// age and the server's own storage limits). A cap is reserved against
	// the account's JetStream storage when the stream is created, so a
	// cap larger than the server allows fails provisioning.
	MaxBytes int64
	// DuplicateWindow is how long a Nats-Msg-Id collapses repeats. It is
	// sized to 契约锁's retry span, about two days (default 48 h).
	DuplicateWindow time.Duration
	// Replicas is the replication factor in a cluster (default 1).
	Replicas int
	// MemoryStorage keeps the streams in memory (tests and benchmarks
	// only; production is file storage).
	MemoryStorage bool
}

// Defaults for StreamSettings.
const (
	DefaultMaxAge          = 30 * 24 * time.Hour
	DefaultMaxBytes        = -1
	DefaultDuplicateWindow = 48 * time.Hour
	// DefaultMaxMsgSize bounds one message: the receiver's 1 MiB body cap
	// plus room for the envelope.
	DefaultMaxMsgSize = 4 << 20
)

func (s StreamSettings) withDefaults() StreamSettings {
	if s.MaxAge <= 0 {
		s.MaxAge = DefaultMaxAge
	}
	if s.MaxBytes == 0 {
		s.MaxBytes = DefaultMaxBytes
	}
	if s.DuplicateWindow <= 0 {
		s.DuplicateWindow = DefaultDuplicateWindow
	}
	if s.DuplicateWindow > s.MaxAge {
		s.DuplicateWindow = s.MaxAge
	}
	if s.Replicas <= 0 {
		s.Replicas = 1
	}
	return s
}

// StreamConfigs returns the configurations of QYS_CALLBACKS, QYS_LEDGER and
// QYS_DLQ. They use only features NATS 2.9 has.
func (n Names) StreamConfigs(s StreamSettings) []jetstream.StreamConfig {
	s = s.withDefaults()
	storage := jetstream.FileStorage
	if s.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	mk := func(name, subject, desc string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      s.MaxAge,
			MaxBytes:    s.MaxBytes,
			MaxMsgs:     -1,
			MaxMsgSize:  DefaultMaxMsgSize,
			Duplicates:  s.DuplicateWindow,
			Replicas:    s.Replicas,
			Storage:     storage,
		}
	}
	return []jetstream.StreamConfig{
		mk(n.CallbacksStream(), n.CallbacksWildcard(), "qyshook: verified 契约锁 callbacks"),
		mk(n.LedgerStream(), n.LedgerWildcard(), "qyshook: ledger facts for subscribers"),
		mk(n.DLQStream(), n.DLQWildcard(), "qyshook: dead letters"),
	}
}

// Provision creates the streams, or updates them to the configuration when
// they exist. It is idempotent and safe to run from every process at start.
func (n Names) Provision(ctx context.Context, js jetstream.JetStream, s StreamSettings) error {
	for _, cfg := range n.StreamConfigs(s) {
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				return fmt.Errorf("events: create stream %s: %w", cfg.Name, err)
			}
			if _, err := js.UpdateStream(ctx, cfg); err != nil {
				return fmt.Errorf("events: update stream %s: %w", cfg.Name, err)
			}
		}
	}
	return nil
}
