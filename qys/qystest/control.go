package qystest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// ControlPrefix starts every path of the control API (ControlHandler,
// WithControlAPI). No open-API path starts with it.
const ControlPrefix = "/_sim/"

// Scenarios are the lifecycles Trigger plays, in the order `qyshook sim
// trigger` lists them.
var Scenarios = []string{"create", "send", "sign", "complete", "reject", "recall", "expire", "void",
	"auth-company", "auth-personal"}

// ErrUnknownScenario: Trigger was given a scenario not in Scenarios.
var ErrUnknownScenario = errors.New("qystest: unknown scenario")

// TriggerResult is what Trigger did.
type TriggerResult struct {
	Scenario string `json:"scenario"`
	// ContractID is the contract played (created when none was given).
	ContractID string `json:"contractId,omitempty"`
	// Status is the contract's status afterwards.
	Status string `json:"status,omitempty"`
	// RequestID is the certification's requestId or authId (auth scenarios).
	RequestID string `json:"requestId,omitempty"`
	// Contact is the personal certification's mobile (auth-personal), for
	// /v2/personalauth/result?contact=…&contactType=MOBILE.
	Contact string `json:"contact,omitempty"`
	// Callbacks are the callbacks created while Trigger ran.
	Callbacks []CallbackResult `json:"callbacks"`
}

// CallbackResult is the delivery state of one logical callback.
type CallbackResult struct {
	Callback     int      `json:"callback"`
	Kind         qys.Kind `json:"kind"`
	CallbackType string   `json:"callbackType"`
	ContractID   string   `json:"contractId,omitempty"`
	// Attempts counts HTTP attempts so far, duplicate copies included.
	Attempts int `json:"attempts"`
	// State is "accepted", "pending" (not attempted yet, held back or
	// dropped), "retrying" (refused, a retry is scheduled) or "gave-up".
	State string `json:"state"`
	// StatusCode and Error describe the last attempt.
	StatusCode int    `json:"statusCode,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Trigger plays scenario (one of Scenarios) on contract id, or on a new
// contract when id is empty, waits until the callbacks are delivered or
// ctx ends, and reports them. Given a DRAFT contract, every scenario but
// create and send sends it first; void completes it first. For the auth
// scenarios id is the requestId/authId (generated when empty). Errors wrap
// ErrUnknownScenario, ErrUnknownContract or ErrInvalidState. Callbacks
// that other goroutines cause meanwhile are reported too.
func (s *Server) Trigger(ctx context.Context, scenario, id string) (*TriggerResult, error) {
	first := s.callbackCount() + 1
	_, from := s.DeliveriesFrom(math.MaxInt) // attempts before this trigger are not its callbacks'
	res := &TriggerResult{Scenario: scenario}
	if err := s.play(res, id); err != nil {
		return nil, err
	}
	_ = s.WaitIdle(ctx) // report what was delivered so far
	res.Callbacks = s.callbackResults(first, s.callbackCount(), from)
	if res.ContractID != "" {
		c, _ := s.Contract(res.ContractID)
		res.Status = c.Status
	}
	return res, nil
}

func (s *Server) play(res *TriggerResult, id string) error {
	switch res.Scenario {
	case "auth-company":
		res.RequestID = orRandom(id, "company-")
		s.CompleteCompanyAuth(res.RequestID, "示例科技有限公司", true)
		return nil
	case "auth-personal":
		res.RequestID = orRandom(id, "person-")
		s.CompletePersonalAuth(res.RequestID, "FACE", "1")
		res.Contact = mobileFor(res.RequestID)
		return nil
	case "create":
		if _, ok := s.Contract(id); ok {
			return fmt.Errorf("%w: contract %s exists", ErrInvalidState, id)
		}
		res.ContractID = s.AddContract(s.sampleSpec(id))
		return nil
	}
	if !slices.Contains(Scenarios, res.Scenario) {
		return fmt.Errorf("%w %q (known: %s)", ErrUnknownScenario, res.Scenario, strings.Join(Scenarios, ", "))
	}
	if id == "" {
		id = s.AddContract(s.sampleSpec(""))
	}
	res.ContractID = id
	return s.drive(res.Scenario, id)
}

// drive moves contract id as the scenario says.
func (s *Server) drive(scenario, id string) error {
	status, next, err := s.signingState(id)
	if err != nil {
		return err
	}
	if scenario == "send" {
		return s.Send(id)
	}
	if status == lifecycle.Draft {
		if err := s.Send(id); err != nil {
			return err
		}
		status, next, _ = s.signingState(id)
	}
	switch scenario {
	case "sign":
		if next < 0 {
			return fmt.Errorf("%w: contract is %s, nobody left to sign", ErrInvalidState, status)
		}
		return s.Sign(id, next)
	case "reject":
		if next < 0 {
			return fmt.Errorf("%w: contract is %s, nobody left to reject", ErrInvalidState, status)
		}
		return s.Reject(id, next)
	case "recall":
		return s.Recall(id)
	case "expire":
		return s.Expire(id)
	case "complete", "void":
		for ; next >= 0; status, next, _ = s.signingState(id) {
			if err := s.Sign(id, next); err != nil {
				return err
			}
		}
		if scenario == "complete" && status != lifecycle.Complete {
			return fmt.Errorf("%w: complete a %s contract", ErrInvalidState, status)
		}
		if scenario == "void" {
			return s.Invalidate(id)
		}
	}
	return nil
}

// signingState returns a contract's status and the index of the first
// signatory still to sign (-1 when none or when the contract is not
// SIGNING).
func (s *Server) signingState(id string) (status string, next int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[id]
	if c == nil {
		return "", -1, fmt.Errorf("%w: %s", ErrUnknownContract, id)
	}
	if c.status == lifecycle.Signing {
		for i, sg := range c.signatories {
			if sg.status == SignatorySigning {
				return c.status, i, nil
			}
		}
	}
	return c.status, -1, nil
}

// sampleSpec is a contract between a company and a person, as the
// scenarios create them. The names and the number are made up.
func (s *Server) sampleSpec(id string) ContractSpec {
	s.mu.Lock()
	n := len(s.order) + 1
	s.mu.Unlock()
	return ContractSpec{ID: id, Subject: fmt.Sprintf("采购合同 #%d", n), TenantName: "示例科技有限公司",
		BizID: fmt.Sprintf("sim-%d", n), Signatories: []SignatorySpec{
			{TenantType: TenantCompany, TenantName: "示例科技有限公司"},
			{TenantType: TenantPersonal, TenantName: "张三", Contact: "13800000000"},
		}}
}

func (s *Server) callbackCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cb.n
}

// callbackResults summarises the logical callbacks first..last from the
// delivery attempts since the from-th.
func (s *Server) callbackResults(first, last, from int) []CallbackResult {
	out := make([]CallbackResult, max(last-first+1, 0))
	for i := range out {
		out[i] = CallbackResult{Callback: first + i, State: "pending"}
	}
	ds, _ := s.DeliveriesFrom(from)
	for _, d := range ds {
		if d.Callback < first || d.Callback > last {
			continue
		}
		r := &out[d.Callback-first]
		r.Kind, r.CallbackType, r.ContractID = d.Kind, d.CallbackType, d.ContractID
		r.Attempts++
		if r.State == "accepted" {
			continue // a later duplicate copy does not change the outcome
		}
		r.StatusCode, r.Error, r.State = d.StatusCode, errString(d.Err), "retrying"
		switch {
		case d.OK:
			r.State, r.Error = "accepted", ""
		case d.GaveUp:
			r.State = "gave-up"
		}
	}
	return out
}

// ControlHandler serves the control API of a standalone fake, under
// ControlPrefix, without auth (bind it to loopback):
//
//	POST /_sim/trigger/{scenario}?contract=ID&wait=5s   Trigger; JSON TriggerResult
//	GET  /_sim/contracts                                every contract, as the detail API shows it
//	GET  /_sim/deliveries                               every delivery attempt
//	POST /_sim/throttle?on=true&retry_after=1s          Throttle; JSON {"throttled": n}
//	POST /_sim/tsa?fault=down|500|hang|none             the time-stamping authority's fault
//	GET  /_sim/tsa/root.pem                             its root certificate
//
// Triggers run one at a time. wait bounds how long a trigger waits for its
// callbacks (default 5 s, at most 60 s). Errors are JSON {"error": …}:
// 400 unknown scenario, 404 unknown contract, 409 invalid state.
func (s *Server) ControlHandler() http.Handler {
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ControlPrefix+"trigger/{scenario}", func(w http.ResponseWriter, r *http.Request) {
		wait := 5 * time.Second
		if v := r.URL.Query().Get("wait"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				writeControl(w, http.StatusBadRequest, map[string]string{"error": "wait: not a duration"})
				return
			}
			wait = min(d, time.Minute)
		}
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		mu.Lock()
		defer mu.Unlock()
		res, err := s.Trigger(ctx, r.PathValue("scenario"), r.URL.Query().Get("contract"))
		if err != nil {
			writeControl(w, controlStatus(err), map[string]any{"error": err.Error(), "scenarios": Scenarios})
			return
		}
		writeControl(w, http.StatusOK, res)
	})
	mux.HandleFunc("GET "+ControlPrefix+"contracts", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		out := make([]wireContract, 0, len(s.order))
		for _, id := range s.order {
			out = append(out, s.wireLocked(s.contracts[id]))
		}
		s.mu.Unlock()
		writeControl(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST "+ControlPrefix+"throttle", func(w http.ResponseWriter, r *http.Request) {
		on, err := strconv.ParseBool(r.URL.Query().Get("on"))
		var after time.Duration
		if v := r.URL.Query().Get("retry_after"); err == nil && v != "" {
			after, err = time.ParseDuration(v)
		}
		if err != nil || after < 0 {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": "on: true or false; retry_after: a duration"})
			return
		}
		s.Throttle(on, after)
		writeControl(w, http.StatusOK, map[string]int{"throttled": s.Throttled()})
	})
	mux.HandleFunc("POST "+ControlPrefix+"tsa", func(w http.ResponseWriter, r *http.Request) {
		f, err := tsatest.ParseFault(r.URL.Query().Get("fault"))
		if err != nil {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.tsa.SetFault(f)
		writeControl(w, http.StatusOK, map[string]any{"fault": string(f), "granted": s.tsa.Granted()})
	})
	mux.HandleFunc("GET "+ControlPrefix+"tsa/root.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(s.tsa.RootPEM())
	})
	mux.HandleFunc("GET "+ControlPrefix+"deliveries", func(w http.ResponseWriter, _ *http.Request) {
		out := []controlDelivery{}
		for _, d := range s.Deliveries() {
			out = append(out, controlDelivery{Callback: d.Callback, Copy: d.Copy, Attempt: d.Attempt,
				Kind: d.Kind, URL: d.URL, CallbackType: d.CallbackType, ContractID: d.ContractID,
				Payload: d.Payload, StatusCode: d.StatusCode, Error: errString(d.Err), OK: d.OK,
				GaveUp: d.GaveUp, Time: d.Time})
		}
		writeControl(w, http.StatusOK, out)
	})
	return mux
}

// WithControlAPI serves ControlHandler on the fake's own address, next to
// the open API.
func WithControlAPI() Option {
	return func(c *config) {
		c.setup = append(c.setup, func(s *Server) {
			api, ctl := s.srv.Config.Handler, s.ControlHandler()
			s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, ControlPrefix) {
					ctl.ServeHTTP(w, r)
					return
				}
				api.ServeHTTP(w, r)
			})
		})
	}
}

// controlDelivery is Delivery as JSON.
type controlDelivery struct {
	Callback     int             `json:"callback"`
	Copy         int             `json:"copy"`
	Attempt      int             `json:"attempt"`
	Kind         qys.Kind        `json:"kind"`
	URL          string          `json:"url"`
	CallbackType string          `json:"callbackType"`
	ContractID   string          `json:"contractId,omitempty"`
	Payload      json.RawMessage `json:"payload"`
	StatusCode   int             `json:"statusCode"`
	Error        string          `json:"error,omitempty"`
	OK           bool            `json:"ok"`
	GaveUp       bool            `json:"gaveUp,omitempty"`
	Time         time.Time       `json:"time"`
}

func controlStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownScenario):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownContract):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalidState):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func orRandom(id, prefix string) string {
	if id != "" {
		return id
	}
	return prefix + randomHex(4)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
