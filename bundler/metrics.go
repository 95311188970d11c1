package bundler

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of qyshook_evidence_bundles_total.
const (
	OutcomeBuilt   = "built"   // a bundle written and recorded
	OutcomeWaiting = "waiting" // no checkpoint covers its leaves yet
	OutcomeRefused = "refused" // a row or file no longer matches the receipt log
	OutcomeFailed  = "failed"  // any other error (retried next interval)
	// OutcomeLostRace: another builder recorded the same version first
	// (two processes on one ledger); this one's zip was removed.
	OutcomeLostRace = "lost_race"
)

type metrics struct {
	bundles *prometheus.CounterVec
	due     prometheus.Gauge
	orphans prometheus.Gauge
	seconds prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		bundles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_evidence_bundles_total",
			Help: "Evidence bundle builds by outcome: built, waiting (no checkpoint covers the leaves yet), refused (a row or file edited outside qyshook), failed, lost_race (another builder recorded the same version first).",
		}, []string{"outcome"}),
		due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "qyshook_evidence_due",
			Help: "Contracts whose evidence bundle is due, as of the evidence stage's last pass (at most its batch).",
		}),
		orphans: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "qyshook_evidence_orphan_zips",
			Help: "Bundle zips written whose record the ledger refused, not yet removed (removed once their version is recorded).",
		}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qyshook_evidence_build_seconds",
			Help:    "Time to gather, write and record one evidence bundle.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
	}
	for _, o := range []string{OutcomeBuilt, OutcomeWaiting, OutcomeRefused, OutcomeFailed, OutcomeLostRace} {
		m.bundles.WithLabelValues(o)
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.bundles, m.due, m.orphans, m.seconds} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
