package qystest

import (
	"net/http"
	"strconv"
	"sync"
)

// DetailGate holds one /v2/contract/detail answer, so a test can force
// the order in which concurrent readers of a contract see their answers
// (an older view answered after a newer one).
type DetailGate struct {
	held    chan struct{} // closed when a request is held
	open    chan struct{} // closed by Release or Fail
	once    sync.Once
	failure int // HTTP status to answer instead of the detail; set before open closes
}

// HoldDetail makes the next detail request for contractID take its answer
// (the contract as it is at that instant), then wait before sending it
// until the gate is released, failed, or the server closes (the request
// is then dropped, as when its client goes away). Only one request is
// held; later ones are answered at once. A second HoldDetail for the same
// contract replaces a gate that has not held a request yet.
func (s *Server) HoldDetail(contractID string) *DetailGate {
	g := &DetailGate{held: make(chan struct{}), open: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gates == nil {
		s.gates = map[string]*DetailGate{}
	}
	s.gates[contractID] = g
	return g
}

// Held is closed once a request is being held.
func (g *DetailGate) Held() <-chan struct{} { return g.held }

// Release sends the held answer (and lets the request through at once if
// none is held yet).
func (g *DetailGate) Release() { g.once.Do(func() { close(g.open) }) }

// Fail answers the held request with httpStatus and a plain-text body, as
// a failing gateway would, instead of the detail.
func (g *DetailGate) Fail(httpStatus int) {
	g.once.Do(func() {
		g.failure = httpStatus
		close(g.open)
	})
}

// takeGateLocked removes and returns the gate of contractID, if any.
func (s *Server) takeGateLocked(contractID string) *DetailGate {
	g := s.gates[contractID]
	delete(s.gates, contractID)
	return g
}

// waitGate holds r at g; it reports false when r must get no answer (the
// client went away or the server closed), and otherwise the failure to
// answer (0 for the detail).
func (s *Server) waitGate(g *DetailGate, r *http.Request) (failure int, ok bool) {
	close(g.held)
	select {
	case <-g.open:
		return g.failure, true
	case <-r.Context().Done():
		return 0, false
	case <-s.ctx.Done():
		return 0, false
	}
}

func writeGatewayFailure(w *recorder, status int) {
	w.code = -1
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(strconv.Itoa(status) + " " + http.StatusText(status) + " (qystest: failed detail gate)\n"))
}
