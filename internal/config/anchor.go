package config

import (
	"net/url"
	"strings"
	"time"
)

// DefaultLogOrigin names the receipt log unless QYSHOOK_LOG_ORIGIN says
// otherwise.
const DefaultLogOrigin = "qyshook"

// Anchor configures the receipt log's checkpoints and their anchoring to
// trusted time (docs/evidence.md).
type Anchor struct {
	// Origin names the log: the first line of every checkpoint and the
	// name of its keys (QYSHOOK_LOG_ORIGIN, default "qyshook"; no spaces,
	// no '+'). Give each deployment its own, e.g. "ledger.example.com/qyshook".
	Origin string
	// KeyFile is the checkpoint signer key (QYSHOOK_LOG_KEY). Unset, the
	// key is <data dir>/log/checkpoint.key, generated (mode 0600) on the
	// first start; set, the file must exist.
	KeyFile string
	// VerifierKeys are earlier keys' verifier keys still accepted after a
	// rotation (QYSHOOK_LOG_VERIFIER_KEYS, comma-separated
	// "<origin>+<hash>+<key>").
	VerifierKeys []string
	// TSAURLs are the RFC 3161 time-stamping authorities every checkpoint
	// is sent to (QYSHOOK_TSA_URLS, comma-separated http(s) URLs; none:
	// checkpoints are signed, not anchored).
	TSAURLs []string
	// TSARoots is a PEM file of the authorities' root certificates the
	// tokens must chain to (QYSHOOK_TSA_ROOTS; unset: the certificates
	// the tokens carry).
	TSARoots string
	// Interval is the time between two checkpoints, each signed only when
	// the log grew (QYSHOOK_LOG_CHECKPOINT_INTERVAL, default 1m).
	Interval time.Duration
	// MaxDelay is how long a checkpoint may wait for a time-stamp before
	// /readyz reports anchoring_delayed (QYSHOOK_TSA_MAX_DELAY, default 15m).
	MaxDelay time.Duration
	// TSATimeout bounds one request to an authority (QYSHOOK_TSA_TIMEOUT,
	// default 10s).
	TSATimeout time.Duration
	// Evidence turns the evidence stage on: a bundle per contract once it
	// is COMPLETE or terminal (QYSHOOK_EVIDENCE, default true).
	Evidence bool
	// EvidenceInterval is the time between two passes of the evidence
	// stage (QYSHOOK_EVIDENCE_INTERVAL, default 30s).
	EvidenceInterval time.Duration
}

func (e envReader) anchor() Anchor {
	a := Anchor{
		Origin:     e.str("LOG_ORIGIN", DefaultLogOrigin),
		KeyFile:    e.str("LOG_KEY", ""),
		TSARoots:   e.str("TSA_ROOTS", ""),
		Interval:   e.duration("LOG_CHECKPOINT_INTERVAL"),
		MaxDelay:   e.duration("TSA_MAX_DELAY"),
		TSATimeout: e.duration("TSA_TIMEOUT"),
		Evidence:   true,

		EvidenceInterval: e.duration("EVIDENCE_INTERVAL"),
	}
	if e.str("EVIDENCE", "") != "" {
		a.Evidence = e.boolean("EVIDENCE")
	}
	if strings.ContainsAny(a.Origin, "+ \t") {
		e.problem("LOG_ORIGIN", "%q: no spaces and no '+'", a.Origin)
	}
	a.VerifierKeys = splitList(e.str("LOG_VERIFIER_KEYS", ""))
	for _, k := range a.VerifierKeys {
		if strings.Count(k, "+") < 2 {
			e.problem("LOG_VERIFIER_KEYS", "%q is not a verifier key (<origin>+<hash>+<key>, as in checkpoint.key.pub)", k)
		}
	}
	a.TSAURLs = splitList(e.str("TSA_URLS", ""))
	for _, s := range a.TSAURLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL may hold credentials: name it by position only.
			e.problem("TSA_URLS", "an entry is not an http(s) URL")
		}
	}
	return a
}

// splitList splits a comma-separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
