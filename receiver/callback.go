package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/intake"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/tracing"
)

// Errors of the receiver itself; the answer table maps them to statuses.
var (
	errUnknownTenant = errors.New("receiver: unknown tenant")
	errTooLarge      = errors.New("receiver: body over the limit")
	errReadBody      = errors.New("receiver: cannot read body")
	errUnavailable   = errors.New("receiver: nats unavailable")
	errUnknownKind   = errors.New("receiver: unknown notice kind")
)

// routeLabels are the route label values of the callback kinds.
var routeLabels = map[qys.Kind]string{
	qys.KindContract:     "contract",
	qys.KindAuthPersonal: "auth_personal",
	qys.KindAuthCompany:  "auth_company",

	qys.KindSealAudit:            "notify_seal_audit",
	qys.KindPersonalSignAuth:     "notify_personal_sign_auth",
	qys.KindCompanyAuthorization: "notify_company_authorization",
	qys.KindPhysicalSeal:         "notify_physical_seal",
}

// routeUnknownNotice is the route label of a notice of an unknown kind.
const routeUnknownNotice = "notify_unknown"

// handleNotice serves RouteNotice: a notice of a kind in qys.NoticeKinds
// is handled like every callback; any other kind is refused with 404.
func (rc *Receiver) handleNotice(w http.ResponseWriter, r *http.Request) {
	kind, ok := qys.NoticeKind(chi.URLParam(r, "kind"))
	if !ok {
		t, err := rc.lookupTenant(r)
		if err != nil {
			rc.refuse(w, r, routeUnknownNotice, unknownTenant, err)
			return
		}
		rc.refuse(w, r, routeUnknownNotice, t.name, errUnknownKind)
		return
	}
	rc.notices[kind](w, r)
}

// handleCallback verifies a callback of kind, stores it and answers
// success only after the PubAck.
func (rc *Receiver) handleCallback(kind qys.Kind) http.HandlerFunc {
	route := routeLabels[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := rc.lookupTenant(r)
		if err != nil {
			rc.refuse(w, r, route, unknownTenant, err)
			return
		}
		// The callback's trace context (a malformed one is ignored: a new
		// trace, never a refusal) rides on the stored message's headers.
		ctx, span := tracing.Start(tracing.EnsureTrace(tracing.FromHTTP(r.Context(), r.Header)), tracing.SpanReceive,
			trace.SpanKindServer, attribute.String("qyshook.tenant", t.name), attribute.String("qyshook.route", route))
		defer span.End()
		body, err := readBody(w, r, rc.maxBody)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			rc.refuse(w, r, route, t.name, err)
			return
		}
		defer putBuffer(body)
		cb, err := t.verifier.Verify(kind, rawRequest(r, body.Bytes()))
		if err == nil {
			err = cb.Validate() // what the ledger cannot store is refused here, not redelivered for ever
		}
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			rc.refuse(w, r, route, t.name, err)
			return
		}
		if cb.IsCheck() {
			rc.metrics.requests.WithLabelValues(route, t.name, "check").Inc()
			writeSuccess(w, kind, cb.Format, t.authAnswer)
			return
		}
		env := intake.Envelope(t.name, cb, rc.now(), events.SourceCallback)
		span.SetAttributes(attribute.String("qyshook.event_id", env.ID), attribute.String("qyshook.contract_id", env.ContractID))
		ack, err := rc.store(ctx, env)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			rc.refuse(w, r, route, t.name, err)
			return
		}
		rc.acknowledge(ctx, r, route, env, ack)
		writeSuccess(w, kind, cb.Format, t.authAnswer)
	}
}

func (rc *Receiver) lookupTenant(r *http.Request) (*tenant, error) {
	if t, ok := rc.tenants[chi.URLParam(r, "tenant")]; ok {
		return t, nil
	}
	return nil, errUnknownTenant
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encPool holds the buffers envelopes are encoded into.
var encPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		b.Reset()
		bufPool.Put(b)
	}
}

// readBody reads the whole body once, under the size cap, into a pooled
// buffer.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (*bytes.Buffer, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	if r.ContentLength > 0 && r.ContentLength <= limit {
		// ReadFrom needs MinRead spare bytes to avoid a regrow. Capped: a
		// declared length is not yet a body, and slow clients must not pin
		// a megabyte each before sending anything.
		buf.Grow(int(min(r.ContentLength, 64<<10)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err == nil {
		return buf, nil
	}
	putBuffer(buf)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge
	}
	return nil, fmt.Errorf("%w: %w", errReadBody, err)
}

func rawRequest(r *http.Request, body []byte) qys.RawRequest {
	return qys.RawRequest{
		Method:      r.Method,
		ContentType: r.Header.Get("Content-Type"),
		Query:       query(r),
		Header:      r.Header,
		Body:        body,
	}
}

// query parses the URL query, when there is one (契约锁 may send the
// signature there).
func query(r *http.Request) url.Values {
	if r.URL.RawQuery == "" {
		return nil
	}
	return r.URL.Query()
}

// store publishes env (the trace context of ctx on its headers), waits
// for its PubAck and, when the Publisher groups its syncs
// (events.Syncer), for the sync that covers it. It fails fast, without
// waiting for the timeout, while the connection is down.
//
// The message goes out as one request on the Publisher's connection, with
// the headers jetstream's PublishMsg would set (Nats-Msg-Id: env.ID, the
// duplicate id; Nats-Expected-Stream), and the PubAck is read in place
// (parsePubAck): the same wire exchange as PublishMsg without its option
// processing and reflective decoding. Only when no stream answers (a
// JetStream cluster electing a leader) is PublishMsg used, for its
// retries.
func (rc *Receiver) store(ctx context.Context, env *events.Envelope) (*jetstream.PubAck, error) {
	// The connection copies the message into its write buffer before the
	// request is sent, so the encoding's buffer is reused.
	buf := encPool.Get().(*[]byte)
	data, err := env.AppendEncode((*buf)[:0])
	defer func() {
		if cap(data) <= 64<<10 {
			*buf = data[:0]
			encPool.Put(buf)
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("receiver: encode envelope: %w", err)
	}
	nc := rc.pub.Conn()
	if !nc.IsConnected() {
		return nil, fmt.Errorf("%w: not connected", errUnavailable)
	}
	subject := rc.names.CallbackSubject(env.Tenant, env.Kind, env.Type)
	start := time.Now()
	msg := &nats.Msg{Subject: subject, Data: data, Header: make(nats.Header, 4)}
	msg.Header[jetstream.MsgIDHeader] = []string{env.ID}
	msg.Header[jetstream.ExpectedStreamHeader] = rc.streamHeader
	tracing.ToNATS(ctx, msg)
	// The publish and the sync are bounded by PublishTimeout (up to
	// deadlineSlot more), not by the request: a callback whose client
	// hangs up still completes its short wait.
	ack, err := rc.publish(rc.deadlines.get(start), nc, msg)
	rc.metrics.publishSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		if errors.Is(err, nats.ErrMaxPayload) || isMessageTooLarge(err) {
			// Retrying cannot help: answer 413, not 503.
			return nil, fmt.Errorf("%w: envelope of %d bytes: %w", errTooLarge, len(data), err)
		}
		return nil, fmt.Errorf("%w: publish: %w", errUnavailable, err)
	}
	return ack, nil
}

// publish sends msg (headers set) and returns its PubAck once it is
// durable: after the group sync when the Publisher has one.
func (rc *Receiver) publish(ctx context.Context, nc *nats.Conn, msg *nats.Msg) (*jetstream.PubAck, error) {
	resp, err := nc.RequestMsgWithContext(ctx, msg)
	var ack *jetstream.PubAck
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		// PublishMsg retries until a stream answers. Synced again below
		// whether or not this Publisher's PublishMsg syncs by itself.
		if ack, err = rc.pub.PublishMsg(ctx, msg); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if ack, err = parsePubAck(resp.Data); err != nil {
			return nil, err
		}
	}
	if s, ok := rc.pub.(events.Syncer); ok {
		if err := s.Sync(ctx); err != nil {
			return nil, err
		}
	}
	return ack, nil
}

// acknowledge counts a stored callback and adds its identity to the
// request's log line (ids only: the actor and payload are personal data).
// The trace id (of ctx) is formatted only for that line.
func (rc *Receiver) acknowledge(ctx context.Context, r *http.Request, route string, env *events.Envelope, ack *jetstream.PubAck) {
	outcome := "success"
	if ack.Duplicate {
		outcome = "duplicate"
		rc.metrics.duplicates.WithLabelValues(env.Tenant).Inc()
	}
	rc.metrics.requests.WithLabelValues(route, env.Tenant, outcome).Inc()
	if !ack.Duplicate {
		rc.count(activity.Received, env.Tenant)
	}
	if !rc.accessLog {
		return
	}
	traceID := tracing.TraceID(ctx)
	zerolog.Ctx(r.Context()).UpdateContext(func(c zerolog.Context) zerolog.Context {
		return c.Str("tenant", env.Tenant).Str("event_id", env.ID).Str("contract_id", env.ContractID).
			Str("callback_type", env.Type).Uint64("stream_seq", ack.Sequence).Bool("duplicate", ack.Duplicate).
			Str("trace_id", traceID)
	})
}

// isMessageTooLarge reports the stream's refusal of a message over its
// MaxMsgSize (JetStream error code 10054).
func isMessageTooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}
