// Package docs holds files of the documentation the binaries serve, so
// each has one copy: the admin API's OpenAPI description.
package docs

import _ "embed"

// AdminOpenAPI is admin-openapi.json, the OpenAPI 3 description of the
// admin API (package admin serves it at /api/v1/openapi.json).
//
//go:embed admin-openapi.json
var AdminOpenAPI []byte
