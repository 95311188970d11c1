package qystest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// DefaultCallbackTimeout is the per-attempt HTTP timeout of a callback
// delivery when CallbackTarget.Timeout is zero.
const DefaultCallbackTimeout = 5 * time.Second

// CallbackTarget says where and how the fake sends callbacks. A kind whose
// URL is empty gets no callbacks.
type CallbackTarget struct {
	// ContractURL receives contract callbacks (and format-B CALLBACK_CHECK).
	ContractURL string
	// PersonalAuthURL receives personal certification callbacks.
	PersonalAuthURL string
	// CompanyAuthURL receives company certification callbacks.
	CompanyAuthURL string
	// NoticeURL is the base of the notice callbacks (SendNotice): a
	// notice of kind k goes to NoticeURL + "/" + k.Segment(), such as
	// http://host/callbacks/default/notify/seal-audit.
	NoticeURL string
	// Sender is passed to qys.BuildCallback: format A (plain or encrypted,
	// ECB or CBC) or B, with its secret, IV and token.
	Sender qys.SenderConfig
	// Timeout bounds each HTTP attempt (default DefaultCallbackTimeout).
	Timeout time.Duration
	// AuthShape is the shape of format-A certification callbacks (default
	// AuthShapeFake). Format B ignores it.
	AuthShape AuthShape
}

// AuthShape is a shape of format-A certification (认证) callbacks.
type AuthShape string

// Certification callback shapes.
const (
	// AuthShapeFake is the fake's own shape, sent with CallbackTarget.Sender:
	// company requestId, status and actionEvent as strings and authInfo as
	// a JSON string {name, registerNo, legalPerson}; personal authId, mode,
	// status.
	AuthShapeFake AuthShape = ""
	// AuthShapeSaaS is the SaaS-mode company certification seen in real
	// traffic (docs/qys-protocol.md §7, S16), sent with Sender (signed,
	// and encrypted when Sender.Encrypt): numbers for status and
	// actionEvent, top-level requestId, companyId, companyName,
	// legalPerson and registerNo, no authInfo. Personal certifications
	// keep the fake's shape (no SaaS sample is known).
	AuthShapeSaaS AuthShape = "saas"
	// AuthShapeDirect is the direct (non-SaaS) public-cloud mode: the
	// fake's fields as plain form fields, with no content, signature or
	// timestamp, whatever Sender says (S17, S19). Contract callbacks still
	// follow Sender.
	AuthShapeDirect AuthShape = "direct"
)

// AuthShapes lists the shapes by name, for flags.
var AuthShapes = []AuthShape{AuthShapeFake, AuthShapeSaaS, AuthShapeDirect}

// Delivery is one HTTP attempt to deliver a callback.
type Delivery struct {
	// Callback numbers the logical callback (from 1, in creation order);
	// retries and duplicate copies share it.
	Callback int
	// Copy is 0 for the original and 1..n for DuplicateCallbacks copies.
	Copy int
	// Attempt counts the attempts of this copy, from 1.
	Attempt      int
	Kind         qys.Kind
	URL          string
	CallbackType string
	ContractID   string
	// Payload is the JSON object before signing and encryption.
	Payload json.RawMessage
	// StatusCode is the receiver's HTTP status (0 when no answer came).
	StatusCode int
	// Body is the start of the receiver's answer (at most 4 KiB).
	Body string
	// Err is the transport or build error, if any.
	Err error
	// OK is true when the receiver accepted the callback.
	OK bool
	// GaveUp is true on the last failed attempt of the schedule.
	GaveUp bool
	Time   time.Time
}

type outCallback struct {
	n            int
	kind         qys.Kind
	url          string
	callbackType string
	contractID   string
	payload      []byte
	sender       qys.SenderConfig
	timeout      time.Duration
	// sigInQuery sends format A's signature and timestamp in the URL.
	sigInQuery bool
}

type job struct {
	cb      *outCallback
	copy    int
	attempt int
}

// callbackState is guarded by Server.mu.
type callbackState struct {
	target     CallbackTarget
	client     *http.Client
	queue      []job
	wake       chan struct{}
	held       []*outCallback
	pending    int
	idle       chan struct{}
	deliveries []Delivery
	// deliveryBase counts the attempts trimmed by WithLogLimit: the
	// attempt at absolute index i is deliveries[i-deliveryBase].
	deliveryBase int
	timers       map[int]*time.Timer
	timerSeq     int
	n            int
	dup          int
	drop         bool
	dropped      int
	reorder      ReorderMode
	rng          *rand.Rand
}

func (s *Server) initCallbacks() {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	s.cb = callbackState{
		client: &http.Client{Transport: tr},
		wake:   make(chan struct{}, 1),
		idle:   make(chan struct{}),
		timers: map[int]*time.Timer{},
		rng:    rand.New(rand.NewPCG(s.cfg.seed, s.cfg.seed^0x9e3779b97f4a7c15)),
	}
}

// SetCallbackTarget sets where callbacks created from now on are sent.
func (s *Server) SetCallbackTarget(t CallbackTarget) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cb.target = t
}

// Deliveries returns a copy of every delivery attempt so far, in order
// (with WithLogLimit, of the last ones only).
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cb.deliveries)
}

// DeliveriesFrom returns the delivery attempts from the i-th (0-based,
// counting every attempt since NewServer) and the index after the last
// one, to pass next time: polling costs what is new, not what is
// kept. Attempts already trimmed by WithLogLimit are skipped.
func (s *Server) DeliveriesFrom(i int) (ds []Delivery, next int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next = s.cb.deliveryBase + len(s.cb.deliveries)
	i = min(max(i, s.cb.deliveryBase), next)
	return slices.Clone(s.cb.deliveries[i-s.cb.deliveryBase:]), next
}

// Dropped returns how many callbacks DropCallbacks discarded.
func (s *Server) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cb.dropped
}

// WaitIdle waits until every callback released so far was accepted or
// given up (held-back callbacks do not count until Flush). It returns
// ctx's error, or ErrClosed when the server is closed.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.cb.pending == 0 {
			s.mu.Unlock()
			return nil
		}
		idle := s.cb.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Flush releases the callbacks held back by Reorder, reversed or shuffled,
// and returns how many it released.
func (s *Server) Flush() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.cb.held
	s.cb.held = nil
	if s.cb.reorder == ReorderShuffle {
		s.cb.rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
	} else {
		slices.Reverse(held)
	}
	for _, cb := range held {
		s.enqueueLocked(cb)
	}
	return len(held)
}

// emitLocked creates a callback for the current target. payload is
// marshalled to JSON.
func (s *Server) emitLocked(kind qys.Kind, callbackType, contractID string, payload any) {
	s.emitWithLocked(kind, callbackType, contractID, payload, s.cb.target.Sender)
}

// emitWithLocked is emitLocked with its own sender settings.
func (s *Server) emitWithLocked(kind qys.Kind, callbackType, contractID string, payload any, sender qys.SenderConfig) {
	s.emitOutLocked(kind, callbackType, contractID, payload, sender, false)
}

// emitNoticeLocked emits a notice (SendNotice).
func (s *Server) emitNoticeLocked(kind qys.Kind, typ string, payload any, sender qys.SenderConfig, sigInQuery bool) {
	s.emitOutLocked(kind, typ, "", payload, sender, sigInQuery)
}

func (s *Server) emitOutLocked(kind qys.Kind, callbackType, contractID string, payload any, sender qys.SenderConfig, sigInQuery bool) {
	t := s.cb.target
	url := map[qys.Kind]string{qys.KindContract: t.ContractURL,
		qys.KindAuthPersonal: t.PersonalAuthURL, qys.KindAuthCompany: t.CompanyAuthURL}[kind]
	if kind.IsNotice() {
		url = t.noticeURL(kind)
	}
	if url == "" || s.closed {
		return
	}
	b, err := json.Marshal(payload)
	if err != nil {
		panic("qystest: marshal callback: " + err.Error())
	}
	s.cb.n++
	cb := &outCallback{n: s.cb.n, kind: kind, url: url, callbackType: callbackType,
		contractID: contractID, payload: b, sender: sender, timeout: t.Timeout, sigInQuery: sigInQuery}
	if cb.timeout <= 0 {
		cb.timeout = DefaultCallbackTimeout
	}
	switch {
	case s.cb.drop:
		s.cb.dropped++
	case s.cb.reorder != ReorderOff:
		s.cb.held = append(s.cb.held, cb)
	default:
		s.enqueueLocked(cb)
	}
}

func (s *Server) enqueueLocked(cb *outCallback) {
	for c := 0; c <= s.cb.dup; c++ {
		s.cb.pending++
		s.pushLocked(job{cb: cb, copy: c, attempt: 1})
	}
}

func (s *Server) pushLocked(j job) {
	s.cb.queue = append(s.cb.queue, j)
	select {
	case s.cb.wake <- struct{}{}:
	default:
	}
}

func (s *Server) doneLocked() {
	s.cb.pending--
	if s.cb.pending == 0 {
		close(s.cb.idle)
		s.cb.idle = make(chan struct{})
	}
}

func (s *Server) stopCallbacksLocked() {
	for _, t := range s.cb.timers {
		t.Stop()
	}
	s.cb.timers = map[int]*time.Timer{}
	s.cb.queue, s.cb.held = nil, nil
	close(s.cb.idle) // wake WaitIdle, which then sees closed
	s.cb.idle = make(chan struct{})
}

// runDeliveries is the single delivery goroutine: attempts go out one at a
// time, in queue order.
func (s *Server) runDeliveries() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for len(s.cb.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.cb.wake:
			case <-s.ctx.Done():
				return
			}
			s.mu.Lock()
		}
		j := s.cb.queue[0]
		s.cb.queue = s.cb.queue[1:]
		s.mu.Unlock()
		s.deliver(j)
	}
}

func (s *Server) deliver(j job) {
	d := s.attempt(j)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	schedule := s.cfg.contractRetry
	if j.cb.kind != qys.KindContract {
		schedule = s.cfg.authRetry
	}
	switch {
	case d.OK:
		s.doneLocked()
	case j.attempt-1 < len(schedule):
		delay := time.Duration(float64(schedule[j.attempt-1]) * s.cfg.timeScale)
		next := job{cb: j.cb, copy: j.copy, attempt: j.attempt + 1}
		s.cb.timerSeq++
		key := s.cb.timerSeq
		s.cb.timers[key] = time.AfterFunc(delay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := s.cb.timers[key]; ok && !s.closed {
				delete(s.cb.timers, key)
				s.pushLocked(next)
			}
		})
	default:
		d.GaveUp = true
		s.doneLocked()
	}
	s.cb.deliveries = append(s.cb.deliveries, d)
	if n := trimLog(&s.cb.deliveries, s.cfg.logLimit); n > 0 {
		s.cb.deliveryBase += n
	}
}

// trimLog keeps the last limit entries of a log once it holds twice as
// many (amortised O(1) per entry); limit 0 keeps everything. It returns
// how many entries it dropped.
func trimLog[T any](log *[]T, limit int) int {
	if limit <= 0 || len(*log) < 2*limit {
		return 0
	}
	drop := len(*log) - limit
	*log = append(make([]T, 0, 2*limit), (*log)[drop:]...)
	return drop
}

// attempt sends one HTTP attempt, signed with a fresh timestamp.
func (s *Server) attempt(j job) Delivery {
	cb := j.cb
	now := s.now()
	d := Delivery{Callback: cb.n, Copy: j.copy, Attempt: j.attempt, Kind: cb.kind, URL: cb.url,
		CallbackType: cb.callbackType, ContractID: cb.contractID, Payload: cb.payload, Time: now}
	out, err := qys.BuildCallback(cb.sender, cb.payload, now)
	if err != nil {
		d.Err = fmt.Errorf("qystest: build callback: %w", err)
		return d
	}
	target := cb.url
	if cb.sigInQuery {
		if target, out.Body, err = signatureToQuery(cb.url, out.Body); err != nil {
			d.Err = fmt.Errorf("qystest: build callback: %w", err)
			return d
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, cb.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(out.Body))
	if err != nil {
		d.Err = err
		return d
	}
	req.Header.Set("Content-Type", out.ContentType)
	req.Header.Set("User-Agent", "qystest-callback/1")
	resp, err := s.cb.client.Do(req)
	if err != nil {
		d.Err = err
		return d
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	d.StatusCode, d.Body, d.Err = resp.StatusCode, string(body), err
	d.OK = err == nil && accepted(cb.kind, resp.StatusCode, body)
	return d
}

// accepted reports whether an answer counts as success: 200 with body
// "success" for contract callbacks; for auth callbacks and notices 200
// with JSON code 0 or "success" (the seal audit: also responseCode
// "00000000"); for the personal signing authorisation any status below
// 400 (S19).
func accepted(kind qys.Kind, status int, body []byte) bool {
	if kind == qys.KindPersonalSignAuth {
		return status > 0 && status < http.StatusBadRequest
	}
	if status != http.StatusOK {
		return false
	}
	text := strings.TrimSpace(string(body))
	if text == "success" {
		return true
	}
	if kind == qys.KindContract {
		return false
	}
	var e struct {
		Code         json.RawMessage `json:"code"`
		ResponseCode json.RawMessage `json:"responseCode"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	if kind == qys.KindSealAudit && strings.Trim(string(e.ResponseCode), `"`) == "00000000" {
		return true
	}
	code := strings.Trim(string(e.Code), `"`)
	return code == "0"
}
