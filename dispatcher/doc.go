// Package dispatcher turns the QYS_CALLBACKS stream into the ledger.
//
// A Dispatcher reads verified callbacks with a durable pull consumer. A
// contract callback is only a trigger: the dispatcher confirms it through
// GET /v2/contract/detail (several callbacks of one contract in a batch
// cost one fetch) and writes what the API says; the store never moves a
// status backwards. A commit in a signed status (COMPLETE and later
// voiding) queues the contract's documents in the same transaction; the
// archive stage (package archiver) downloads them after the callbacks are
// acked, so no download ever holds a callback. Certification callbacks
// update certifications. Every change writes facts to an outbox in the
// same transaction, and a relay publishes them to QYS_LEDGER with their
// own message ids.
//
// Failures are classified once, in classify, and settled in settle:
// transient ones (API 5xx, timeouts, rate limiting, a busy database) are
// NAKed with exponential backoff and jitter, a full disk (disk_full) for
// as long as it lasts; permanent ones (an undecodable event, a contract
// the API does not know, a value the ledger cannot store, a change the
// database refuses for good) and exhausted retries go to QYS_DLQ and the
// dead_letters table, their text escaped so they always store, then the
// message is terminated. Nothing is dropped silently.
//
// The Reconciler finds what callbacks never said: contracts stuck in a
// non-terminal state, and recent contracts listed by /v2/contract/list
// whose status the ledger does not have. It publishes RECONCILE triggers
// into QYS_CALLBACKS, so reconciled changes take the same path, are marked
// with source "reconcile" in the event history, and replay like any event.
package dispatcher
