// Package adminapi is the operator contract of qyshook's admin API: the
// request and answer types of every route under /api/v1, exported once,
// and a Client that calls them.
//
// The admin handlers (package admin) build and encode these types, the
// qyshook CLI and the console's tests decode them, and
// docs/admin-openapi.json describes them (a test in package admin checks
// the document against these types field by field and decodes a real
// answer of every route into them). The package holds no router and no
// handler, and imports only the standard library.
//
// JSON is snake_case; times are RFC 3339 in UTC. Personal data (names,
// phone and ID numbers in payloads and details) is masked unless the token
// is an operator token.
//
//	c, err := adminapi.NewClient(adminapi.ClientOptions{URL: "http://127.0.0.1:8082", Token: token})
//	if err != nil { … }
//	page, err := c.Contracts(ctx, url.Values{"status": {"SIGNING"}})
//	var e *adminapi.Error
//	if errors.As(err, &e) && e.Code == adminapi.CodeNotFound { … }
package adminapi
