package qystest

import "net/http"

// holds are per-document download faults; guarded by Server.mu.
type holds struct {
	gates   map[string]chan struct{} // document id → closed on release
	missing map[string]bool          // document id → answer "not found"
}

// HoldDownload makes downloads of one document wait, sending nothing,
// until release is called (or the client gives up). release is safe to
// call more than once.
func (s *Server) HoldDownload(documentID string) (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	if s.faults.holds.gates == nil {
		s.faults.holds.gates = map[string]chan struct{}{}
	}
	s.faults.holds.gates[documentID] = gate
	s.mu.Unlock()
	released := false
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !released {
			released = true
			close(gate)
			if s.faults.holds.gates[documentID] == gate {
				delete(s.faults.holds.gates, documentID)
			}
		}
	}
}

// MissingDocument makes downloads of one document answer "document not
// found" (as the platform does for a purged file) while the contract's
// detail still lists it. on=false serves it again.
func (s *Server) MissingDocument(documentID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.holds.missing == nil {
		s.faults.holds.missing = map[string]bool{}
	}
	s.faults.holds.missing[documentID] = on
}

// holdDocument applies the holds of a document download: it waits for a
// gate and reports whether to answer at all and whether the document is
// missing.
func (s *Server) holdDocument(r *http.Request, documentID string) (answer, missing bool) {
	s.mu.Lock()
	gate := s.faults.holds.gates[documentID]
	missing = s.faults.holds.missing[documentID]
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return false, false
		}
	}
	return true, missing
}
