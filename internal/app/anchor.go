package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/anchor"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/internal/health"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa"
)

// ReasonAnchoringDelayed is the /readyz warning while the oldest
// checkpoint has waited longer than QYSHOOK_TSA_MAX_DELAY for a
// time-stamp. The process stays ready: callbacks do not depend on it.
const ReasonAnchoringDelayed = "anchoring_delayed"

// LogHeader is what the anchor stage reads the receipt log through: the
// ledger's method when it has one.
type LogHeader interface {
	LogHead(ctx context.Context) (tlog.Tree, error)
}

// KeyFile is the checkpoint signer key's path: QYSHOOK_LOG_KEY, or
// <data dir>/log/checkpoint.key (generated on the first start).
func (s *Services) KeyFile() (path string, generate bool) {
	if s.Cfg.Anchor.KeyFile != "" {
		return s.Cfg.Anchor.KeyFile, false
	}
	return filepath.Join(s.Cfg.DataDir, "log", "checkpoint.key"), true
}

// Keyring loads (or on the first start creates) the checkpoint keys.
func (s *Services) Keyring() (*checkpoint.Keyring, error) {
	path, gen := s.KeyFile()
	a := s.Cfg.Anchor
	k, err := checkpoint.New(checkpoint.Options{Origin: a.Origin, KeyFile: path, Generate: gen, VerifierKeys: a.VerifierKeys})
	if err != nil {
		return nil, fmt.Errorf("QYSHOOK_LOG_KEY: %w", err)
	}
	return k, nil
}

// TSAClient is the time-stamping client of QYSHOOK_TSA_URLS (nil when none).
func (s *Services) TSAClient() (*tsa.Client, error) {
	a := s.Cfg.Anchor
	if len(a.TSAURLs) == 0 {
		return nil, nil
	}
	roots, err := s.TSARoots()
	if err != nil {
		return nil, err
	}
	c, err := tsa.New(tsa.Options{URLs: a.TSAURLs, Timeout: a.TSATimeout, Roots: roots})
	if err != nil {
		return nil, fmt.Errorf("QYSHOOK_TSA_URLS: %w", err)
	}
	return c, nil
}

// TSARoots reads QYSHOOK_TSA_ROOTS (nil when unset).
func (s *Services) TSARoots() (*x509.CertPool, error) {
	path := s.Cfg.Anchor.TSARoots
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("QYSHOOK_TSA_ROOTS: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("QYSHOOK_TSA_ROOTS: %s holds no PEM certificate", path)
	}
	return p, nil
}

// NewAnchor builds the anchor stage, or returns nil (after one log line)
// when the ledger keeps no receipt log or no checkpoints.
func (s *Services) NewAnchor(reg prometheus.Registerer) (*anchor.Anchor, error) {
	log := s.Log.With().Str("component", "anchor").Logger()
	head := s.LogHead
	if head == nil {
		if h, ok := s.Ledger.(LogHeader); ok {
			head = h.LogHead
		}
	}
	cl, ok := s.Ledger.(store.CheckpointLog)
	if head == nil || !ok {
		log.Warn().Msg("this ledger keeps no receipt log: no checkpoints are signed")
		return nil, nil
	}
	keys, err := s.Keyring()
	if err != nil {
		return nil, err
	}
	client, err := s.TSAClient()
	if err != nil {
		return nil, err
	}
	if client == nil {
		log.Warn().Msg("QYSHOOK_TSA_URLS is empty: checkpoints are signed but not anchored to trusted time")
	}
	tenants := make([]string, 0, len(s.Cfg.Tenants))
	for _, t := range s.Cfg.Tenants {
		tenants = append(tenants, t.Name)
	}
	a := s.Cfg.Anchor
	var leaf func(context.Context, int64) (store.LogLeaf, error)
	if rl, ok := s.Ledger.(store.ReceiptLog); ok && s.LogHead == nil {
		leaf = rl.LogLeaf
	}
	st, err := anchor.New(anchor.Options{Head: head, Leaf: leaf, Keys: keys, TSA: client, Ledger: cl, Names: s.Names, Tenants: tenants,
		Interval: a.Interval, MaxDelay: a.MaxDelay, Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	log.Info().Str("origin", keys.Origin()).Str("key_id", keys.KeyID()).Str("verifier_key", keys.VerifierKey()).
		Int("tsa", len(a.TSAURLs)).Msg("receipt log checkpoints on")
	s.anchor = st
	return st, nil
}

// anchorWarning is the /readyz warning of the anchor stage.
func (s *Services) anchorWarning() health.Check {
	return health.Check{Reason: ReasonAnchoringDelayed, Ready: func(ctx context.Context) error {
		if s.anchor == nil {
			return nil
		}
		return s.anchor.Delayed(ctx)
	}}
}

// requestCheckpoint is POST /log/checkpoints's hook (nil without an
// anchor stage in this process).
func (s *Services) requestCheckpoint() func(context.Context) (*store.LogCheckpoint, bool, error) {
	if s.anchor == nil {
		return nil
	}
	return s.anchor.Request
}
