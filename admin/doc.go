// Package admin is qyshook's admin API: JSON over HTTP under /api/v1/, for
// operators and the tools built on it (the console, the qyshook CLI).
//
// Every route needs a bearer token (Options.Tokens), each with a role:
// a viewer reads with personal data masked (phone and ID numbers, names of
// persons and companies, also inside the stored detail and payload JSON);
// an operator reads it unmasked and will run the write routes. Every
// failure answers one shape, {"error":{"code":"…","message":"…"}}; lists
// answer {"items":[…],"next_cursor":"…"} and page with ?limit=&cursor=,
// the cursor being opaque. The request and answer types are package
// adminapi's (with a client for Go programs); the OpenAPI 3 description
// lives in docs/admin-openapi.json, is checked against those types field
// by field, and is served at /api/v1/openapi.json.
package admin
