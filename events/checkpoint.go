package events

import "strconv"

// FactLogCheckpoint: the receipt log was checkpointed: a signed checkpoint
// (tree size and root hash) a subscriber keeps as a witness — a log
// rewritten later no longer matches it. The fact carries no contract
// (ContractID "", Seq 0) and is published once for every tenant, so a
// subscriber of one tenant's facts sees every checkpoint.
const FactLogCheckpoint = "log.checkpoint"

// FactCheckpoint describes a checkpoint in a log.checkpoint fact.
type FactCheckpoint struct {
	// Origin names the log (the note's first line).
	Origin string `json:"origin"`
	// Size is the tree size, Root its root hash (hex).
	Size int64  `json:"size"`
	Root string `json:"root"`
	// KeyID is the signing key's note key hash (8 hex digits).
	KeyID string `json:"key_id"`
	// Note is the signed checkpoint, a golang.org/x/mod/sumdb/note, byte
	// for byte as signed (verify it with the log's verifier key).
	Note string `json:"note"`
}

// LedgerCheckpointSubject is the subject of a log.checkpoint fact:
// qys.ledger.<tenant>.log.checkpoint.
func (n Names) LedgerCheckpointSubject(tenant string) string {
	return n.subject(subjectLedgerRoot + "." + tenant + ".log.checkpoint")
}

// CheckpointFactID is the id of the log.checkpoint fact of a tree size
// for a tenant.
func CheckpointFactID(tenant string, size int64) string {
	return "log-checkpoint-" + tenant + "-" + strconv.FormatInt(size, 10)
}
