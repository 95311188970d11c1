// Package deadletter locates and resolves dead letters: a dead_letters row
// of the ledger and its message in QYS_DLQ, which the dead-letter depth
// gauge counts. The dispatcher resolves one when its retry is applied; the
// admin API when an operator purges it; replays read where each one's
// message is.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// Key locates a dead letter's message in QYS_DLQ: its subject
// (qys.dlq.<consumer>) and the sequence its event had in QYS_CALLBACKS,
// the pair a dead_letters row holds (Consumer, StreamSeq).
type Key struct {
	Subject   string
	StreamSeq uint64
}

// Messages reads the headers of QYS_DLQ (not the bodies) and
// returns the QYS_DLQ sequence of every dead letter's message. The
// dead-letter depth gauge counts these messages, so resolving a dead
// letter deletes its message as well as its row.
func Messages(ctx context.Context, js jetstream.JetStream, names events.Names) (map[Key]uint64, error) {
	stream, err := js.Stream(ctx, names.DLQStream())
	if err != nil {
		return nil, fmt.Errorf("dead letters: stream %s: %w", names.DLQStream(), err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("dead letters: stream %s: %w", names.DLQStream(), err)
	}
	out := map[Key]uint64{}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return out, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{names.DLQWildcard()}, HeadersOnly: true, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("dead letters: consumer: %w", err)
	}
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return nil, fmt.Errorf("dead letters: fetch: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("dead letters: metadata: %w", err)
			}
			if seq, err := strconv.ParseUint(m.Headers().Get(events.HeaderDLQStreamSeq), 10, 64); err == nil {
				out[Key{Subject: m.Subject(), StreamSeq: seq}] = md.Sequence.Stream
			}
			if md.Sequence.Stream >= last || md.NumPending == 0 {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("dead letters: fetch: %w", err)
		}
		if n == 0 {
			return out, nil
		}
	}
}

// Store is the part of store.Ledger Resolve uses.
type Store interface {
	DeadLetter(ctx context.Context, id int64) (*store.DeadLetter, error)
	DeleteDeadLetter(ctx context.Context, id int64) error
}

// Resolve removes dead letter id: its message in QYS_DLQ (at
// dlqSeq, or found by reading QYS_DLQ's headers when dlqSeq is 0; a
// message is deleted only when it is this dead letter's) and then its
// row. It returns an error wrapping store.ErrNotFound when there is no
// such row (already resolved, or purged).
func Resolve(ctx context.Context, js jetstream.JetStream, names events.Names, ledger Store, id int64, dlqSeq uint64) error {
	row, err := ledger.DeadLetter(ctx, id)
	if err != nil {
		return fmt.Errorf("dead letter %d: %w", id, err)
	}
	key := Key{Subject: names.DLQSubject(row.Consumer), StreamSeq: row.StreamSeq}
	if dlqSeq == 0 && row.StreamSeq > 0 {
		seqs, err := Messages(ctx, js, names)
		if err != nil {
			return err
		}
		dlqSeq = seqs[key]
	}
	if dlqSeq > 0 {
		if err := deleteDLQMessage(ctx, js, names, key, dlqSeq); err != nil {
			return fmt.Errorf("dead letter %d: %w", id, err)
		}
	}
	if err := ledger.DeleteDeadLetter(ctx, id); err != nil {
		return fmt.Errorf("dead letter %d: %w", id, err)
	}
	return nil
}

// deleteDLQMessage deletes message seq of QYS_DLQ if it is the one key
// names; a message already gone is not an error.
func deleteDLQMessage(ctx context.Context, js jetstream.JetStream, names events.Names, key Key, seq uint64) error {
	stream, err := js.Stream(ctx, names.DLQStream())
	if err != nil {
		return fmt.Errorf("stream %s: %w", names.DLQStream(), err)
	}
	m, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get %s message %d: %w", names.DLQStream(), seq, err)
	}
	if m.Subject != key.Subject || m.Header.Get(events.HeaderDLQStreamSeq) != strconv.FormatUint(key.StreamSeq, 10) {
		return nil // not this dead letter's message: leave it
	}
	if err := stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete %s message %d: %w", names.DLQStream(), seq, err)
	}
	return nil
}
