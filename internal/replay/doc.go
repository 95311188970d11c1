// Package replay re-drives events into the ledger: from the QYS_CALLBACKS
// stream (selected by time range, stream sequence range, tenant, contract
// id or callback type), from the dead-letter table, or from a file of raw
// callbacks that are verified again and published to the stream.
//
// Replays keep their event ids, so the ledger's idempotency holds: replaying
// an event that was applied changes nothing, and replaying a time range into
// a wiped ledger rebuilds the same ledger, because every event is confirmed
// through the open API exactly as the dispatcher confirms it.
//
// Reading the stream uses an ordered consumer (ephemeral, no acks, memory
// storage) with a single subject filter, which NATS 2.9 supports, and stops
// at the stream's last sequence as of the start, so a live stream does not
// keep a replay running. Messages that are not valid envelopes are counted
// and reported, never fatal.
//
// The package applies nothing itself: callers pass an ApplyFunc, normally
// (*dispatcher.Dispatcher).Apply, and a nil ApplyFunc is a dry run.
package replay
