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
// are confirmed the same way, through the certification-result calls
// (recorded flagged unconfirmed, for the reconciler to poll, when they
// cannot be). Every change writes facts to an outbox in the same
// transaction, and a relay publishes them to QYS_LEDGER with their own
// message ids.
//
// Failures are classified once, in classify, and settled in settle:
// transient ones (API 5xx, timeouts, rate limiting, a busy database) are
// NAKed with exponential backoff and jitter, a full disk (disk_full) for
// as long as it lasts; permanent ones (an undecodable event, a contract
// the API does not know, a value the ledger cannot store, a change the
// database refuses for good) and exhausted retries go to QYS_DLQ and the
// dead_letters table, their text escaped so they always store, then the
// message is terminated. Nothing is dropped silently. A retried dead
// letter is resolved (row and QYS_DLQ message, package deadletter) once
// its republished event applies.
//
// Notices (seal audits, signing or company authorisations, physical
// seals) have no API to confirm them: each is recorded with its fact,
// flagged unconfirmed, in one transaction.
//
// The facts it commits are published by the relay stage (package relay),
// which it kicks after each batch through Options.Committed; the callback
// stream's trimmer (package trimmer) and the ledger's retention (package
// retention) are stages of their own. internal/app runs them all as
// peers and stops the relay last, so the facts of the final batch go out.
//
// The dispatcher does not look for what callbacks never said: the
// reconciler (package reconcile) does, and its RECONCILE triggers come
// through QYS_CALLBACKS like any callback.
package dispatcher
