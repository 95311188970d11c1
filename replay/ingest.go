package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/intake"
	"github.com/qyshook/qyshook/qys"
)

// IngestWindow is how old a re-ingested callback's timestamp may be: the
// file is old by nature, so freshness is not checked, but the signature
// and the decryption still are.
const IngestWindow = 10 * 365 * 24 * time.Hour

// MaxLineErrors is how many rejected lines an IngestReport lists.
const MaxLineErrors = 100

// maxLine bounds one line of the file (a 1 MiB body, base64, and room).
const maxLine = 8 << 20

// Line is one raw callback in a JSON-lines file, as the receiver got it.
type Line struct {
	// Tenant is the tenant the callback was sent to (default "default").
	Tenant string `json:"tenant"`
	// Kind is contract, auth.personal or auth.company (default contract).
	Kind string `json:"kind"`
	// ContentType is the request's Content-Type.
	ContentType string `json:"content_type"`
	// Query is the raw query string, if any.
	Query string `json:"query"`
	// Body is the raw body as a string; BodyBase64 is the alternative for
	// bodies that are not text.
	Body       *string `json:"body"`
	BodyBase64 string  `json:"body_base64"`
	// ReceivedAt is when the callback first arrived (default: now).
	ReceivedAt *time.Time `json:"received_at"`
}

// IngestConfig configures an Ingester.
type IngestConfig struct {
	// JS and Names locate QYS_CALLBACKS (not needed for dry runs).
	JS    jetstream.JetStream
	Names events.Names
	// Verifiers holds each tenant's callback verification. Its timestamp
	// window is widened to IngestWindow.
	Verifiers map[string]qys.VerifierConfig
	// Rate caps the callbacks published per second (0 or less: no cap).
	Rate float64
	// Now gives the received_at of lines without one (default time.Now).
	Now func() time.Time
}

// Ingester verifies files of raw callbacks and publishes them to
// QYS_CALLBACKS, where the dispatcher applies them like any callback.
type Ingester struct {
	cfg       IngestConfig
	verifiers map[string]*qys.Verifier
	limiter   *rate.Limiter
}

// NewIngester builds the tenants' verifiers.
func NewIngester(cfg IngestConfig) (*Ingester, error) {
	if math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, errors.New("replay: rate must be a finite number")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	in := &Ingester{cfg: cfg, verifiers: map[string]*qys.Verifier{}}
	for name, vc := range cfg.Verifiers {
		vc.Window.Past = IngestWindow
		v, err := qys.NewVerifier(vc)
		if err != nil {
			return nil, fmt.Errorf("replay: tenant %q: %w", name, err)
		}
		in.verifiers[name] = v
	}
	if cfg.Rate > 0 {
		in.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	return in, nil
}

// LineError is a rejected line.
type LineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// IngestReport is the outcome of an ingest.
type IngestReport struct {
	DryRun bool `json:"dry_run"`
	// Lines counts the non-blank lines read.
	Lines int `json:"lines"`
	// Verified counts the lines that verified (URL checks included).
	Verified int `json:"verified"`
	// Published counts the callbacks stored on the stream for the first time.
	Published int `json:"published"`
	// Duplicates counts callbacks already in the file or in the stream's
	// duplicate window (same event id): they collapse.
	Duplicates int `json:"duplicates"`
	// Checks counts URL-check callbacks: nothing to store.
	Checks int `json:"checks"`
	// Rejected counts lines that did not parse or verify; nothing of them
	// is stored.
	Rejected int `json:"rejected"`
	// Problems lists the first MaxLineErrors rejected lines.
	Problems []LineError `json:"problems,omitempty"`
	// Items lists the callbacks that would be published (dry runs only).
	Items []Item `json:"items,omitempty"`
}

func (rep *IngestReport) reject(line int, err error) {
	rep.Rejected++
	if len(rep.Problems) < MaxLineErrors {
		rep.Problems = append(rep.Problems, LineError{Line: line, Error: err.Error()})
	}
}

// Ingest reads JSON lines from r, verifies each with its tenant's verifier,
// and publishes the envelopes (source events.SourceIngest, the receiver's
// event id as Nats-Msg-Id) to QYS_CALLBACKS. Bad lines are reported by
// number; a failed publish stops the ingest with an error. A dry run
// verifies without publishing.
func (in *Ingester) Ingest(ctx context.Context, r io.Reader, dryRun bool) (IngestReport, error) {
	rep := IngestReport{DryRun: dryRun}
	if !dryRun && in.cfg.JS == nil {
		return rep, errors.New("replay: no JetStream")
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		rep.Lines++
		env, err := in.verify(text)
		if err != nil {
			rep.reject(n, err)
			continue
		}
		rep.Verified++
		if env == nil {
			rep.Checks++
			continue
		}
		if seen[env.ID] {
			rep.Duplicates++
			continue
		}
		seen[env.ID] = true
		if dryRun {
			rep.Items = append(rep.Items, newItem(0, env.ReceivedAt, env))
			continue
		}
		dup, err := in.publish(ctx, env)
		if err != nil {
			return rep, fmt.Errorf("replay: line %d: %w", n, err)
		}
		if dup {
			rep.Duplicates++
		} else {
			rep.Published++
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("replay: read line %d: %w", rep.Lines+1, err)
	}
	return rep, nil
}

// verify parses and verifies one line; a nil envelope is a URL check.
func (in *Ingester) verify(text []byte) (*events.Envelope, error) {
	var l Line
	if err := json.Unmarshal(text, &l); err != nil {
		return nil, fmt.Errorf("not a callback line: %w", err)
	}
	if l.Tenant == "" {
		l.Tenant = "default"
	}
	if l.Kind == "" {
		l.Kind = events.KindContract
	}
	v, ok := in.verifiers[l.Tenant]
	if !ok {
		return nil, fmt.Errorf("unknown tenant %q", l.Tenant)
	}
	req, err := l.request()
	if err != nil {
		return nil, err
	}
	cb, err := v.Verify(qys.Kind(l.Kind), req)
	if err == nil {
		err = cb.Validate() // as the receiver: refused, not dead-lettered later
	}
	if err != nil {
		return nil, err
	}
	if cb.IsCheck() {
		return nil, nil
	}
	at := in.cfg.Now()
	if l.ReceivedAt != nil {
		at = *l.ReceivedAt
	}
	return intake.Envelope(l.Tenant, cb, at, events.SourceIngest), nil
}

func (l *Line) request() (qys.RawRequest, error) {
	var body []byte
	switch {
	case l.Body != nil && l.BodyBase64 != "":
		return qys.RawRequest{}, errors.New("body and body_base64 exclude each other")
	case l.Body != nil:
		body = []byte(*l.Body)
	default:
		b, err := base64.StdEncoding.DecodeString(l.BodyBase64)
		if err != nil {
			return qys.RawRequest{}, fmt.Errorf("body_base64: %w", err)
		}
		body = b
	}
	q, err := url.ParseQuery(l.Query)
	if err != nil {
		return qys.RawRequest{}, fmt.Errorf("query: %w", err)
	}
	h := http.Header{}
	if l.ContentType != "" {
		h.Set("Content-Type", l.ContentType)
	}
	return qys.RawRequest{Method: http.MethodPost, ContentType: l.ContentType, Query: q, Header: h, Body: body}, nil
}

// publish stores env on QYS_CALLBACKS; dup is true when the stream already
// had its id.
func (in *Ingester) publish(ctx context.Context, env *events.Envelope) (dup bool, err error) {
	if in.limiter != nil {
		if err := in.limiter.Wait(ctx); err != nil {
			return false, err
		}
	}
	data, err := env.Encode()
	if err != nil {
		return false, fmt.Errorf("encode envelope: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	subject := in.cfg.Names.CallbackSubject(env.Tenant, env.Kind, env.Type)
	ack, err := in.cfg.JS.Publish(pctx, subject, data, jetstream.WithMsgID(env.ID),
		jetstream.WithExpectStream(in.cfg.Names.CallbacksStream()))
	if err != nil {
		return false, fmt.Errorf("publish: %w", err)
	}
	return ack.Duplicate, nil
}
