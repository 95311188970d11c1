// Package delivery is the stage that delivers ledger facts to HTTP
// endpoints, signed the Standard Webhooks way (docs/delivery.md).
//
// A fan-out consumer (events.DurableDeliveryFanout, shared by every
// process running the stage) reads QYS_LEDGER in order and queues one
// message per matching endpoint on QYS_DELIVERY, a work-queue stream with
// one subject per endpoint; each endpoint has its own durable consumer,
// which every process pulls from with the endpoint's concurrency, so a
// slow endpoint holds only its own messages and a cluster scales by adding
// processes. A failed attempt is redelivered by JetStream after the
// schedule's delay (NakWithDelay); a process killed mid-attempt leaves the
// message unacknowledged and another process delivers it after the ack
// wait, with the same webhook-id. An ordered endpoint has one message in
// flight (MaxAckPending 1), so facts reach it in stream order.
package delivery
