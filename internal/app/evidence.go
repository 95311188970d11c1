package app

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/bundler"
)

// NewEvidence builds the evidence stage, or returns nil when
// QYSHOOK_EVIDENCE is off or the ledger keeps no evidence bundles (after
// one log line).
func (s *Services) NewEvidence(reg prometheus.Registerer) (*bundler.Bundler, error) {
	log := s.Log.With().Str("component", "evidence").Logger()
	a := s.Cfg.Anchor
	if !a.Evidence {
		log.Info().Msg("QYSHOOK_EVIDENCE is off: no evidence bundles are built")
		return nil, nil
	}
	l, ok := s.Ledger.(bundler.Ledger)
	if !ok {
		log.Warn().Msg("this ledger keeps no evidence bundles")
		return nil, nil
	}
	keys, err := s.Keyring()
	if err != nil {
		return nil, err
	}
	b, err := bundler.New(bundler.Options{Ledger: l, DataDir: s.Cfg.DataDir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey(),
		Anchoring: len(a.TSAURLs) > 0, MaxDelay: a.MaxDelay, Interval: a.EvidenceInterval, Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	s.evidence = b
	return b, nil
}

// openBundle opens an evidence bundle by its path relative to the data
// dir (evidence_bundles.path), never outside <data dir>/evidence.
func (s *Services) openBundle(rel string) (*os.File, error) {
	if !fs.ValidPath(rel) || !strings.HasPrefix(rel, "evidence/") || strings.Contains(rel, "\\") {
		return nil, fmt.Errorf("evidence bundle path %q is not under evidence/", rel)
	}
	root, err := os.OpenRoot(s.Cfg.DataDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(rel)
}
