package receiver

import (
	"context"
	"net/http"
)

// handleHealthz answers 200 while the process runs.
func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, `{"status":"ok"}`)
}

// handleReadyz answers 200 only when the NATS connection is up and the
// callbacks stream answers within the ready timeout.
func (rc *Receiver) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if reason := rc.notReady(r.Context()); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, `{"status":"unavailable","reason":"`+reason+`"}`)
		return
	}
	writeJSON(w, http.StatusOK, `{"status":"ready"}`)
}

// notReady returns why the receiver cannot store callbacks, or "".
func (rc *Receiver) notReady(ctx context.Context) string {
	if !rc.nc.IsConnected() {
		return "nats_disconnected"
	}
	ctx, cancel := context.WithTimeout(ctx, rc.readyTimeout)
	defer cancel()
	if _, err := rc.js.Stream(ctx, rc.stream); err != nil {
		return "stream_unavailable"
	}
	return ""
}
