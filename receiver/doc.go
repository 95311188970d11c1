// Package receiver is qyshook's callback endpoint: it verifies 契约锁
// callbacks per tenant, turns each into an events.Envelope, and answers
// success only after JetStream has acknowledged the envelope on the
// QYS_CALLBACKS stream. A refused or unstored callback gets an error status
// so 契约锁 retries it; a retry of a stored callback collapses on its
// Nats-Msg-Id and is answered success again.
//
// Receiver is the http.Handler of the callback routes (middlewares,
// metrics). It takes its own Options: a qys.Verifier per tenant, a
// Publisher (jetstream.JetStream is one), names, limits, a logger and a
// registry; it never reads the application's configuration. internal/app
// builds those options from the configuration, serves the receiver beside
// the probes of internal/health, and runs both with its HTTP Server.
package receiver
