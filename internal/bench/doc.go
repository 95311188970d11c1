// Package bench holds the benchmarks behind `qyshook bench`, all on this
// machine with everything in one process:
//
//   - receiver: signed, encrypted format-A callbacks over real loopback
//     HTTP into an embedded JetStream with file storage, each answered
//     only after its PubAck, against a bare no-op handler on the same
//     HTTP stack in interleaved rounds (RunReceiverRounds), with the
//     process CPU time per request;
//   - dispatcher: a pre-filled stream confirmed through an in-process fake
//     契约锁 into SQLite or PostgreSQL, interleaved over several ledgers
//     (RunDispatcherRounds); archive: one large document streamed to the
//     store;
//   - soak and burst: what `qyshook serve` wires (receiver, embedded NATS,
//     ledger, dispatcher, archive stage), under sustained contract
//     lifecycles (RunSoak) or N callbacks at once and their drain
//     (RunBurst).
//
// The load generator runs in the same process: CPU and RSS figures include
// it, the same in every run compared. Tests never assert speed.
package bench
