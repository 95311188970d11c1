// Package events defines what qyshook puts on NATS JetStream: the versioned
// callback and ledger envelopes, every stream, subject and durable consumer
// name, and the provisioning of the streams.
//
// The wire format is pinned by golden files in testdata/; changes are additive
// only. A breaking change gets a new schema string and new subjects.
package events
