package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog/hlog"
)

// Prefix starts every path of this API version.
const Prefix = "/api/v1"

// route is one entry of the route table. Write routes join the table with
// Role RoleOperator; the table is what the OpenAPI test compares.
type route struct {
	Method  string
	Pattern string // below Prefix, chi syntax ({name} segments)
	Role    Role
	Handler handlerFunc
}

// table lists every route.
func (a *API) table() []route {
	return []route{
		{http.MethodGet, "/openapi.json", RoleViewer, a.openAPI},
		{http.MethodGet, "/contracts", RoleViewer, a.listContracts},
		{http.MethodGet, "/contracts/{tenant}/{id}", RoleViewer, a.getContract},
		{http.MethodGet, "/certifications", RoleViewer, a.listCertifications},
		{http.MethodGet, "/events", RoleViewer, a.listEvents},
		{http.MethodGet, "/dead-letters", RoleViewer, a.listDeadLetters},
		{http.MethodGet, "/dead-letters/{id}", RoleViewer, a.getDeadLetter},
		{http.MethodGet, "/streams", RoleViewer, a.listStreams},
		{http.MethodGet, "/events/live", RoleViewer, a.liveEvents},
		{http.MethodGet, "/contracts/{tenant}/{id}/facts", RoleViewer, a.contractFacts},
	}
}

// routes builds the router from the table.
func (a *API) routes() chi.Router {
	return a.buildRouter(a.table())
}

func (a *API) buildRouter(table []route) chi.Router {
	r := chi.NewRouter()
	r.Use(a.withLogger(), hlog.RequestIDHandler("req_id", "X-Request-Id"))
	// Unknown routes and methods answer 401 without a token too, so the
	// API's shape is not probed anonymously.
	auth := a.authenticate(RoleViewer)
	r.NotFound(auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errorf(CodeNotFound, "no route %s (see %s/openapi.json)", r.URL.Path, Prefix))
	})).ServeHTTP)
	r.MethodNotAllowed(auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errorf(CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
	})).ServeHTTP)
	r.Route(Prefix, func(r chi.Router) {
		for _, rt := range table {
			r.With(a.authenticate(rt.Role)).Method(rt.Method, rt.Pattern, a.handle(rt.Handler))
		}
	})
	return r
}
