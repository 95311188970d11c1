package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/adminapi"
)

// route is one entry of the route table. Write routes join the table with
// Role RoleOperator; the table is what the OpenAPI test compares.
type route struct {
	Method  string
	Pattern string // below adminapi.Prefix, chi syntax ({name} segments)
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
		{http.MethodGet, "/certifications/{tenant}/{request_id}", RoleViewer, a.getCertification},
		{http.MethodGet, "/events", RoleViewer, a.listEvents},
		{http.MethodGet, "/dead-letters", RoleViewer, a.listDeadLetters},
		{http.MethodGet, "/dead-letters/issues", RoleViewer, a.listDeadLetterIssues},
		{http.MethodGet, "/dead-letters/{id}", RoleViewer, a.getDeadLetter},
		{http.MethodGet, "/streams", RoleViewer, a.listStreams},
		// Operations (admin/writes.go, replays.go, reconcile.go, operations.go).
		{http.MethodGet, "/documents", RoleViewer, a.listDocuments},
		{http.MethodGet, "/overview", RoleViewer, a.overview},
		{http.MethodGet, "/audit", RoleViewer, a.listAudit},
		{http.MethodGet, "/activity", RoleViewer, a.getActivity},
		{http.MethodPost, "/dead-letters/retry", RoleOperator, a.retryDeadLetters},
		{http.MethodPost, "/dead-letters/{id}/retry", RoleOperator, a.retryDeadLetter},
		{http.MethodPost, "/dead-letters/{id}/purge", RoleOperator, a.purgeDeadLetter},
		{http.MethodPost, "/replays", RoleOperator, a.postReplay},
		{http.MethodGet, "/replays", RoleViewer, a.listReplays},
		{http.MethodGet, "/replays/{id}", RoleViewer, a.getReplay},
		{http.MethodPost, "/reconcile", RoleOperator, a.postReconcile},
		{http.MethodGet, "/reconcile-runs", RoleViewer, a.listReconcileRuns},
		{http.MethodGet, "/events/live", RoleViewer, a.liveEvents},
		{http.MethodGet, "/contracts/{tenant}/{id}/facts", RoleViewer, a.contractFacts},
		// Evidence bundles (admin/evidence.go): operators get the zip,
		// viewers the masked report.
		{http.MethodGet, "/contracts/{tenant}/{id}/evidence", RoleViewer, a.getEvidence},
		// HTTP delivery (admin/endpoints.go).
		{http.MethodGet, "/endpoints", RoleViewer, a.listEndpoints},
		{http.MethodPost, "/endpoints", RoleOperator, a.postEndpoint},
		{http.MethodGet, "/endpoints/{id}", RoleViewer, a.getEndpoint},
		{http.MethodDelete, "/endpoints/{id}", RoleOperator, a.deleteEndpoint},
		{http.MethodPost, "/endpoints/{id}/enable", RoleOperator, a.enableEndpoint},
		{http.MethodPost, "/endpoints/{id}/disable", RoleOperator, a.disableEndpoint},
		{http.MethodPost, "/endpoints/{id}/rotate-secret", RoleOperator, a.rotateSecret},
		{http.MethodPost, "/endpoints/{id}/test", RoleOperator, a.testEndpoint},
		{http.MethodGet, "/endpoints/{id}/attempts", RoleViewer, a.listEndpointAttempts},
		{http.MethodGet, "/endpoints/{id}/dead-letters", RoleViewer, a.listEndpointDeadLetters},
		{http.MethodPost, "/endpoints/{id}/dead-letters/retry", RoleOperator, a.retryEndpointDeadLetters},
		{http.MethodPost, "/endpoints/{id}/dead-letters/purge", RoleOperator, a.purgeEndpointDeadLetters},
		{http.MethodPost, "/endpoints/{id}/replay", RoleOperator, a.replayToEndpoint},
		// The receipt log (admin/receiptlog.go).
		{http.MethodGet, "/log", RoleViewer, a.logHead},
		{http.MethodGet, "/log/proof", RoleViewer, a.logProof},
		{http.MethodGet, "/log/consistency", RoleViewer, a.logConsistency},
		// The receipt log's checkpoints (admin/checkpoints.go).
		{http.MethodGet, "/log/checkpoints", RoleViewer, a.listCheckpoints},
		{http.MethodGet, "/log/status", RoleViewer, a.logStatus},
		{http.MethodPost, "/log/checkpoints", RoleOperator, a.postCheckpoint},
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
		writeError(w, r, errorf(adminapi.CodeNotFound, "no route %s (see %s/openapi.json)", r.URL.Path, adminapi.Prefix))
	})).ServeHTTP)
	r.MethodNotAllowed(auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errorf(adminapi.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
	})).ServeHTTP)
	r.Route(adminapi.Prefix, func(r chi.Router) {
		for _, rt := range table {
			r.With(a.authenticate(rt.Role)).Method(rt.Method, rt.Pattern, a.handle(rt.Handler))
		}
	})
	return r
}
