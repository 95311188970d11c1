package events

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamSettings sizes the streams. Zero fields take the defaults below.
//
// Acknowledged means kept: the callback stream never drops a message to
// make room. When it is full (MaxBytes) it refuses new ones (DiscardNew),
// so the receiver answers 503 and 契约锁 retries; it drops by age only when
// CallbackMaxAge is set.
type StreamSettings struct {
	// MaxAge is how long ledger facts and dead letters are kept in their
	// streams (default 30 days).
	MaxAge time.Duration
	// CallbackMaxAge, when positive, drops callbacks older than it, worked
	// or not. Zero (the default) keeps them until a byte cap refuses new
	// ones.
	CallbackMaxAge time.Duration
	// MaxBytes caps each stream's size (default -1: no cap, retention by
	// age and the server's own storage limits). A cap is reserved against
	// the account's JetStream storage when the stream is created, so a
	// cap larger than the server allows fails provisioning.
	MaxBytes int64
	// DuplicateWindow is how long a Nats-Msg-Id collapses repeats. It is
	// sized to 契约锁's retry span, about two days (default 48 h).
	DuplicateWindow time.Duration
	// Replicas is the replication factor (default 1 on a single server, 3
	// when the connection reports a cluster).
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
	// DefaultClusterReplicas is the replication factor on a cluster.
	DefaultClusterReplicas = 3
	// DefaultMaxMsgSize bounds one message: the receiver's 1 MiB body cap
	// plus room for the envelope.
	DefaultMaxMsgSize = 4 << 20
)

func (s StreamSettings) withDefaults() StreamSettings {
	if s.MaxAge <= 0 {
		s.MaxAge = DefaultMaxAge
	}
	if s.CallbackMaxAge < 0 {
		s.CallbackMaxAge = 0
	}
	if s.MaxBytes == 0 {
		s.MaxBytes = DefaultMaxBytes
	}
	if s.DuplicateWindow <= 0 {
		s.DuplicateWindow = DefaultDuplicateWindow
	}
	if s.Replicas <= 0 {
		s.Replicas = 1
	}
	return s
}

// StreamConfigs returns the configurations of QYS_CALLBACKS, QYS_LEDGER and
// QYS_DLQ. They use only features NATS 2.9 has. Callbacks and dead letters
// are work not yet done: their streams refuse new messages when full
// (DiscardNew). Ledger facts are a broadcast copy of the ledger: their
// stream drops the oldest (DiscardOld), so subscribers that fall behind
// never stall the outbox.
func (n Names) StreamConfigs(s StreamSettings) []jetstream.StreamConfig {
	s = s.withDefaults()
	storage := jetstream.FileStorage
	if s.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	mk := func(name, subject, desc string, maxAge time.Duration, discard jetstream.DiscardPolicy) jetstream.StreamConfig {
		dup := s.DuplicateWindow
		if maxAge > 0 && dup > maxAge {
			dup = maxAge
		}
		var maxMsgSize int32 = DefaultMaxMsgSize
		if s.MaxBytes > 0 && s.MaxBytes < int64(maxMsgSize) {
			maxMsgSize = int32(s.MaxBytes)
		}
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Retention:   jetstream.LimitsPolicy,
			Discard:     discard,
			MaxAge:      maxAge,
			MaxBytes:    s.MaxBytes,
			MaxMsgs:     -1,
			MaxMsgSize:  maxMsgSize,
			Duplicates:  dup,
			Replicas:    s.Replicas,
			Storage:     storage,
		}
	}
	return []jetstream.StreamConfig{
		mk(n.CallbacksStream(), n.CallbacksWildcard(), "qyshook: verified 契约锁 callbacks", s.CallbackMaxAge, jetstream.DiscardNew),
		mk(n.LedgerStream(), n.LedgerWildcard(), "qyshook: ledger facts for subscribers", s.MaxAge, jetstream.DiscardOld),
		mk(n.DLQStream(), n.DLQWildcard(), "qyshook: dead letters", s.MaxAge, jetstream.DiscardNew),
	}
}

// Kept is a limit of a live stream that Provision kept because the
// configuration asked for less: a start-up never lowers a stream's
// replicas or limits (that could drop stored messages or replicas); an
// operator lowers them deliberately with the NATS tools.
type Kept struct {
	Stream string
	// Limit names the field: "replicas", "max_bytes", "max_age",
	// "max_msgs", "max_msg_size" or "duplicates".
	Limit string
	// Live and Configured are the values (durations as strings).
	Live, Configured string
}

// Provision creates the streams, or updates them to the configuration when
// they exist. It is idempotent and safe to run from every process at start.
func (n Names) Provision(ctx context.Context, js jetstream.JetStream, s StreamSettings) error {
	_, err := n.ProvisionKept(ctx, js, s)
	return err
}

// ProvisionKept is Provision, also returning the live limits it kept
// instead of lowering them (log them as warnings). A zero Replicas is 3
// when the connection reports a cluster, else 1.
func (n Names) ProvisionKept(ctx context.Context, js jetstream.JetStream, s StreamSettings) ([]Kept, error) {
	if s.Replicas <= 0 {
		s.Replicas = 1
		if nc := js.Conn(); nc != nil && nc.ConnectedClusterName() != "" {
			s.Replicas = DefaultClusterReplicas
		}
	}
	var kept []Kept
	for _, cfg := range n.StreamConfigs(s) {
		st, err := js.Stream(ctx, cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			if _, err = js.CreateStream(ctx, cfg); err == nil {
				continue
			}
			if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				return kept, fmt.Errorf("events: create stream %s: %w", cfg.Name, err)
			}
			st, err = js.Stream(ctx, cfg.Name) // created meanwhile by another process
		}
		if err != nil {
			return kept, fmt.Errorf("events: stream %s: %w", cfg.Name, err)
		}
		cfg, k := keepHigher(st.CachedInfo().Config, cfg)
		kept = append(kept, k...)
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return kept, fmt.Errorf("events: update stream %s: %w", cfg.Name, err)
		}
	}
	return kept, nil
}

// keepHigher returns want with every limit of live that is higher (or
// unlimited where want is limited) kept, and the list of those kept.
func keepHigher(live, want jetstream.StreamConfig) (jetstream.StreamConfig, []Kept) {
	var kept []Kept
	// unlimited maps "no limit" (zero or negative) above every limit.
	unlimited := func(v int64) int64 {
		if v <= 0 {
			return math.MaxInt64
		}
		return v
	}
	keep := func(limit string, liveV, wantV int64, show func(int64) string, set func(int64)) {
		if unlimited(liveV) > unlimited(wantV) {
			kept = append(kept, Kept{Stream: want.Name, Limit: limit, Live: show(liveV), Configured: show(wantV)})
			set(liveV)
		}
	}
	num := func(v int64) string {
		if v <= 0 {
			return "unlimited"
		}
		return strconv.FormatInt(v, 10)
	}
	dur := func(v int64) string {
		if v <= 0 {
			return "unlimited"
		}
		return time.Duration(v).String()
	}
	keep("replicas", int64(live.Replicas), int64(want.Replicas), num, func(v int64) { want.Replicas = int(v) })
	keep("max_bytes", live.MaxBytes, want.MaxBytes, num, func(v int64) { want.MaxBytes = v })
	keep("max_age", int64(live.MaxAge), int64(want.MaxAge), dur, func(v int64) { want.MaxAge = time.Duration(v) })
	keep("max_msgs", live.MaxMsgs, want.MaxMsgs, num, func(v int64) { want.MaxMsgs = v })
	keep("max_msg_size", int64(live.MaxMsgSize), int64(want.MaxMsgSize), num, func(v int64) { want.MaxMsgSize = int32(v) })
	if live.Duplicates > want.Duplicates && (want.MaxAge <= 0 || live.Duplicates <= want.MaxAge) {
		kept = append(kept, Kept{Stream: want.Name, Limit: "duplicates", Live: live.Duplicates.String(), Configured: want.Duplicates.String()})
		want.Duplicates = live.Duplicates
	}
	return want, kept
}

// Syncer is implemented by a JetStream API whose acknowledged writes are
// made durable in groups (the embedded server's grouped sync): a caller of
// PublishAsync or PublishMsgAsync calls Sync after its acks and before
// acting on them. Other JetStream APIs sync by themselves (or by interval)
// and need no call.
type Syncer interface {
	Sync(ctx context.Context) error
}

// SyncAcked calls js's Sync when it has one (see Syncer): after
// asynchronous publishes, before the caller acts on their acks.
func SyncAcked(ctx context.Context, js jetstream.JetStream) error {
	if s, ok := js.(Syncer); ok {
		return s.Sync(ctx)
	}
	return nil
}
