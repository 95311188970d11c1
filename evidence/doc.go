// Package evidence is the per-contract evidence bundle (证据包), format
// qyshook.evidence.v1: a zip holding what qyshook received, confirmed and
// kept about one contract (callbacks, API answers, ledger rows, signed
// PDFs and their validation material, items the platform served or
// refused), the receipt-log leaves that bind them with their inclusion
// proofs in one signed checkpoint and that checkpoint's RFC 3161 tokens,
// a bilingual report, and a manifest of every file signed as a note.
//
// Write builds a bundle from Contents and refuses contents that would not
// verify; Verify checks one offline (no network, no data dir) and says, one
// line per check, what holds. The layout is documented in docs/evidence.md,
// "The evidence bundle".
package evidence
