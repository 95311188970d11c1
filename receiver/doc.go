// Package receiver is qyshook's callback endpoint: it verifies 契约锁
// callbacks per tenant, turns each into an events.Envelope, and answers
// success only after JetStream has acknowledged the envelope on the
// QYS_CALLBACKS stream. A refused or unstored callback gets an error status
// so 契约锁 retries it; a retry of a stored callback collapses on its
// Nats-Msg-Id and is answered success again.
//
// Receiver is the http.Handler (routes, middlewares, metrics); Server runs
// it with production timeouts and a graceful shutdown; Main wires both to
// the configuration and a NATS connection for cmd/receiver. `qyshook serve`
// embeds the receiver with New and NewServer, sharing its NATS connection.
package receiver
