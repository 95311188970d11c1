// Package tsa is an RFC 3161 time-stamping client: Client.Stamp asks one
// authority over HTTP (a request with a nonce and a certificate request)
// and checks its answer (status, message imprint, nonce, signature), and
// Verify checks a stored token offline: its signature, its signer's
// certificate chain (against pinned roots, or the certificates the token
// or the caller include), the signer's critical timeStamping extended key
// usage, and the imprint of the data.
//
// Package tsatest is a real responder for tests and the demo. The package
// never logs and never reads the environment.
package tsa
