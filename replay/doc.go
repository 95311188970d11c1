// Package replay republishes events into QYS_CALLBACKS for the running
// dispatchers to apply: from the stream itself (selected by time range,
// stream sequence range, tenant, contract id or callback type), from the
// dead-letter table, or from a file of raw callbacks that are verified
// again and published like live ones.
//
// The package never applies anything and never writes the ledger: an
// operator process is not a second writer. A republished event is marked
// as a replay (source events.SourceReplay, headers events.HeaderReplay and
// events.HeaderReplayOf, and for a dead-letter retry
// events.HeaderDeadLetterID) and gets its own id, derived from its
// original id and the job id (events.ReplayEventID), so neither the
// stream's duplicate window nor the ledger's event-id idempotency
// swallows it, while running the same job again republishes nothing new.
// The dispatcher confirms it through the open API like any callback (the
// callback is only a trigger), and resolves a retried dead letter when the
// event applies.
//
// Reading the stream uses an ordered consumer (ephemeral, no acks, memory
// storage) with a single subject filter, which NATS 2.9 supports, and stops
// at the stream's last sequence as of the start, so a live stream (and the
// replay's own republished messages) does not keep a replay running.
// Messages that are not valid envelopes are counted and reported, never
// fatal.
package replay
