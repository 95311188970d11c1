package natsconn

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
)

// syncedJS is the JetStream API of a connection to an embedded server in
// grouped-sync mode: Publish and PublishMsg return their PubAck only once
// the store has been synced after it (embeddednats.GroupSync), so every
// caller that acts on a PubAck (the dispatcher's ack of a dead-lettered or
// renewed event, the relay's outbox mark) acts on a durable write, as with
// nats-server's "sync: always", at a fraction of the fsyncs. Asynchronous
// publishers, and the receiver (which sends its publish as a plain request
// and reads the PubAck itself), call Sync after their acks.
type syncedJS struct {
	jetstream.JetStream
	gs *embeddednats.GroupSync
}

func (j syncedJS) Publish(ctx context.Context, subj string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	ack, err := j.JetStream.Publish(ctx, subj, data, opts...)
	return j.synced(ctx, ack, err)
}

func (j syncedJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	ack, err := j.JetStream.PublishMsg(ctx, msg, opts...)
	return j.synced(ctx, ack, err)
}

// Sync waits until every write acknowledged before the call is durable
// (see Syncer).
func (j syncedJS) Sync(ctx context.Context) error { return j.gs.Sync(ctx) }

func (j syncedJS) synced(ctx context.Context, ack *jetstream.PubAck, err error) (*jetstream.PubAck, error) {
	if err != nil {
		return nil, err
	}
	if err := j.gs.Sync(ctx); err != nil {
		return nil, err
	}
	return ack, nil
}

// Syncer is the group-sync side of the JetStream API this package
// returns in grouped mode (events.Syncer; events.SyncAcked calls it).
type Syncer = events.Syncer

// Stream operations that make nats-server rewrite files (stream metadata
// on create and update; message blocks compacted by a purge or a delete)
// are followed by a group sync too: without its own "sync: always",
// nats-server does not fsync the files it replaces.

func (j syncedJS) CreateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := j.JetStream.CreateStream(ctx, cfg)
	return j.stream(ctx, s, err)
}

func (j syncedJS) UpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := j.JetStream.UpdateStream(ctx, cfg)
	return j.stream(ctx, s, err)
}

func (j syncedJS) CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := j.JetStream.CreateOrUpdateStream(ctx, cfg)
	return j.stream(ctx, s, err)
}

// Stream returns the stream with Purge and DeleteMsg followed by a sync.
func (j syncedJS) Stream(ctx context.Context, name string) (jetstream.Stream, error) {
	s, err := j.JetStream.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	return syncedStream{Stream: s, gs: j.gs}, nil
}

func (j syncedJS) stream(ctx context.Context, s jetstream.Stream, err error) (jetstream.Stream, error) {
	if err != nil {
		return nil, err
	}
	if err := j.gs.Sync(ctx); err != nil {
		return nil, err
	}
	return syncedStream{Stream: s, gs: j.gs}, nil
}

type syncedStream struct {
	jetstream.Stream
	gs *embeddednats.GroupSync
}

func (s syncedStream) Purge(ctx context.Context, opts ...jetstream.StreamPurgeOpt) error {
	if err := s.Stream.Purge(ctx, opts...); err != nil {
		return err
	}
	return s.gs.Sync(ctx)
}

func (s syncedStream) DeleteMsg(ctx context.Context, seq uint64) error {
	if err := s.Stream.DeleteMsg(ctx, seq); err != nil {
		return err
	}
	return s.gs.Sync(ctx)
}

func (s syncedStream) SecureDeleteMsg(ctx context.Context, seq uint64) error {
	if err := s.Stream.SecureDeleteMsg(ctx, seq); err != nil {
		return err
	}
	return s.gs.Sync(ctx)
}
