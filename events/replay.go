package events

import (
	"crypto/sha256"
	"encoding/hex"
)

// Headers on a callback republished by an operator (qyshook replay,
// qyshook dlq retry). The envelope of such a message has Source
// SourceReplay and its own id (ReplayEventID), which is also its
// Nats-Msg-Id.
const (
	// HeaderReplay carries the replay job id.
	HeaderReplay = "Qyshook-Replay"
	// HeaderReplayOf carries the id of the event replayed.
	HeaderReplayOf = "Qyshook-Replay-Of"
	// HeaderDeadLetterID carries the dead_letters row id a dead-letter
	// retry resolves: the dispatcher deletes the row (and its QYS_DLQ
	// message) once the republished event is applied.
	HeaderDeadLetterID = "Qyshook-Dead-Letter-Id"
	// HeaderDeadLetterSeq carries the sequence of the dead letter's
	// message in QYS_DLQ, when the retry found it.
	HeaderDeadLetterSeq = "Qyshook-Dead-Letter-Seq"
)

// Headers on a dead-lettered message in QYS_DLQ.
const (
	HeaderDLQReason     = "Qyshook-Reason"
	HeaderDLQError      = "Qyshook-Error"
	HeaderDLQEventID    = "Qyshook-Event-Id"
	HeaderDLQStreamSeq  = "Qyshook-Stream-Seq" // sequence of the message in QYS_CALLBACKS
	HeaderDLQSubject    = "Qyshook-Subject"
	HeaderDLQDeliveries = "Qyshook-Deliveries"
)

// ReplayEventID derives the id of event eventID republished by replay job
// job: a new id, so neither the stream's duplicate window nor the
// ledger's event-id idempotency swallows the replay, and the same for the
// same job, so running a job again republishes nothing new.
func ReplayEventID(eventID, job string) string {
	h := sha256.New()
	for _, p := range []string{"replay", eventID, job} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "rpl-" + hex.EncodeToString(h.Sum(nil)[:16])
}
