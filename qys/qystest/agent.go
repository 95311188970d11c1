package qystest

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// SaaS agent mode (docs/qys-protocol.md §1.2 and §7; the vendor Go SDK's
// SaaSSdkClient): an integrator acting for other companies signs with
// x-qys-open-agentaccesstoken and x-qys-open-agentsignature =
// MD5(agentToken + agentSecret + timestamp + nonce), beside the app pair
// (acting for a sub-account) or alone.

// agents is the agent state of one Server. It lives beside the Server, not
// in it, so the agent check stays out of the fake's app-credential code.
type agents struct {
	mu      sync.Mutex
	secrets map[string]string    // agent token → agent secret
	nonces  map[string]time.Time // agent token + nonce → first use
}

var agentStates sync.Map // *Server → *agents

func (s *Server) agents() *agents {
	a, _ := agentStates.LoadOrStore(s, &agents{secrets: map[string]string{}, nonces: map[string]time.Time{}})
	return a.(*agents)
}

// AddAgent makes the fake accept SaaS agent requests signed with token and
// secret. A request that carries x-qys-open-agentaccesstoken is refused
// (442) unless its token was added and its agent signature, timestamp and
// nonce check, exactly like the app pair. Public-cloud dialect only.
func (s *Server) AddAgent(token, secret string) {
	a := s.agents()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[token] = secret
}

// authenticateAgent checks the agent pair when a request carries one. It
// reports handled = true when the request is settled here: refused (the
// answer is written, ok = false) or an agent-only request that passed (ok
// = true). handled = false leaves the request to the app-pair check: no
// agent headers, or a valid agent pair next to an app pair.
func (s *Server) authenticateAgent(w *recorder, r *http.Request) (handled, ok bool) {
	token := r.Header.Get(qys.HeaderAgentToken)
	sig := r.Header.Get(qys.HeaderAgentSignature)
	if s.cfg.private || (token == "" && sig == "") {
		return false, false
	}
	ts := r.Header.Get(publicHeaders.timestamp)
	nonce := r.Header.Get(publicHeaders.nonce)
	if token == "" || sig == "" || ts == "" || nonce == "" {
		s.authError(w, qys.CodeMissingHeader, msgMissingHeader)
		return true, false
	}
	if code, msg := s.checkAgent(token, ts, nonce, sig); code != 0 {
		s.authError(w, code, msg)
		return true, false
	}
	if r.Header.Get(publicHeaders.token) != "" {
		return false, false // acting for a sub-account: the app pair is checked too
	}
	return true, true
}

// checkAgent verifies the agent token, signature, timestamp and nonce; it
// returns the failure's code and message, or 0. A nonce is remembered for
// the whole timestamp window, so no replay inside the window passes.
func (s *Server) checkAgent(token, ts, nonce, sig string) (int, string) {
	now := s.now()
	a := s.agents()
	a.mu.Lock()
	defer a.mu.Unlock()
	secret, ok := a.secrets[token]
	if !ok {
		return qys.CodeInvalidToken, msgInvalidToken
	}
	want := qys.SignAPI(token, secret, ts, nonce)
	if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return qys.CodeInvalidToken, msgInvalidSignature
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || absDuration(now.Sub(time.UnixMilli(ms))) > s.cfg.window {
		return qys.CodeInvalidToken, msgInvalidTimestamp
	}
	keep := max(2*s.cfg.window, s.cfg.nonceTTL)
	if len(a.nonces) >= 1<<12 {
		for k, t := range a.nonces {
			if now.Sub(t) >= keep {
				delete(a.nonces, k)
			}
		}
	}
	key := token + "\x00" + nonce
	if t, used := a.nonces[key]; used && now.Sub(t) < keep {
		return qys.CodeInvalidToken, msgNonceReused
	}
	a.nonces[key] = now
	return 0, ""
}
