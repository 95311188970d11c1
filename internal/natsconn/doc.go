// Package natsconn opens qyshook's one NATS connection and its JetStream
// context: to the server named by a URL, reconnecting forever, or to an
// embedded JetStream server started in-process when no URL is configured.
package natsconn
