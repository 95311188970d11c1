// Package bench measures the receiver on this machine: signed, encrypted
// format-A callbacks over real loopback HTTP into an embedded JetStream
// with file storage, each answered only after its PubAck, compared with a
// no-op handler on the same HTTP stack. `qyshook bench` prints its Result.
package bench
