package admin

import (
	"net/http"

	"github.com/qyshook/qyshook/docs"
)

// openAPI: GET /openapi.json, the description kept in
// docs/admin-openapi.json (any valid token may read it).
func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(docs.AdminOpenAPI)
	return err
}
