// Package anchor is the anchor stage: at a set interval, and when asked
// (Request), it reads the receipt log's head, signs a checkpoint when the
// tree grew (package checkpoint), stores it with its log.checkpoint facts
// in one transaction (store.CheckpointLog), and has it time-stamped by
// every configured RFC 3161 authority (package tsa), storing each token
// with its certificates.
//
// An authority that is down delays anchoring and nothing else: the
// checkpoint is stored unanchored, stamping is retried with backoff
// (oldest first) and catches up when an authority answers; callbacks and
// commits never wait for it. Metrics show the delay, and Delayed reports
// it to /readyz once past Options.MaxDelay.
package anchor
