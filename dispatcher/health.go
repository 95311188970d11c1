package dispatcher

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// HealthConfig is what the dispatcher's own HTTP server checks.
type HealthConfig struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Names    events.Names
	Ledger   store.Ledger
	Gatherer prometheus.Gatherer
}

// HealthHandler serves /healthz (the process runs), /readyz (NATS
// connected, the callbacks stream reachable, the database answering) and
// /metrics.
func HealthHandler(h HealthConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if reason := h.notReady(ctx); reason != "" {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if h.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(h.Gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

func (h HealthConfig) notReady(ctx context.Context) string {
	if h.NC != nil && !h.NC.IsConnected() {
		return "nats disconnected"
	}
	if h.JS != nil {
		if _, err := h.JS.Stream(ctx, h.Names.CallbacksStream()); err != nil {
			return "callbacks stream unavailable"
		}
	}
	if h.Ledger != nil {
		if err := h.Ledger.Ping(ctx); err != nil {
			return "database unavailable"
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
