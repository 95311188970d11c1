// Package checkpoint signs and opens the receipt log's checkpoints: the
// text of github.com/transparency-dev/formats/log.Checkpoint (the origin
// line, the tree size, the base64 root hash) signed as a
// golang.org/x/mod/sumdb/note with an Ed25519 key of the deployment.
//
// A Keyring holds the active signer key (generated on first start into a
// private file, or loaded from a configured path) and every verifier key
// accepted: the active one and the keys it replaced, so checkpoints signed
// before a rotation still open. Check verifies a stored checkpoint and its
// RFC 3161 stamps (package tsa) against a tree the caller rebuilt.
//
// The package never logs and never reads the environment.
package checkpoint
