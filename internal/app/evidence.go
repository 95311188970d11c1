package app

import (
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
