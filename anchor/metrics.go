package anchor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the stage's Prometheus series. The gauges are read at
// scrape time from the stats of the stage's last pass and the clock.
type metrics struct {
	signed      prometheus.Counter
	shrunk      prometheus.Counter
	tsaRequests *prometheus.CounterVec
	// ageAtSign is how old the previous checkpoint was when the next one
	// was signed (the most a checkpoint ages under load: the interval plus
	// the time to sign); anchorDelay how long a checkpoint waited for its
	// first time-stamp.
	ageAtSign   prometheus.Histogram
	anchorDelay prometheus.Histogram
	gauges      []prometheus.Collector
}

func newMetrics(a *Anchor) *metrics {
	m := &metrics{
		signed: prometheus.NewCounter(prometheus.CounterOpts{Name: "qyshook_log_checkpoints_signed_total",
			Help: "Receipt log checkpoints signed and stored."}),
		shrunk: prometheus.NewCounter(prometheus.CounterOpts{Name: "qyshook_log_head_behind_checkpoint_total",
			Help: "Times the log head had fewer leaves than the last checkpoint (a rewritten or restored log)."}),
		tsaRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qyshook_tsa_requests_total",
			Help: "RFC 3161 time-stamp requests by authority and outcome (ok, error)."}, []string{"tsa", "outcome"}),
		ageAtSign: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "qyshook_log_checkpoint_age_at_sign_seconds",
			Help:    "How old the previous checkpoint was when the next one was signed: the checkpoint age reached while the log grows.",
			Buckets: []float64{1, 2, 5, 10, 30, 60, 65, 70, 90, 120, 300, 600, 1800, 3600}}),
		anchorDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "qyshook_log_anchor_delay_at_stamp_seconds",
			Help:    "How long a checkpoint waited, from signing to its first time-stamp stored.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 21600}}),
	}
	m.gauges = []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_log_checkpoint_size",
			Help: "Tree size of the newest checkpoint (0: none)."}, func() float64 {
			st, _ := a.stats()
			if st.Latest == nil {
				return 0
			}
			return float64(st.Latest.Size)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_log_checkpoint_age_seconds",
			Help: "Seconds since the newest checkpoint was signed (0: none)."}, func() float64 {
			st, _ := a.stats()
			if st.Latest == nil {
				return 0
			}
			return a.o.Now().Sub(st.Latest.CreatedAt).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_log_anchored_checkpoint_age_seconds",
			Help: "Seconds since the newest anchored (time-stamped) checkpoint was signed (0: none)."}, func() float64 {
			st, _ := a.stats()
			if st.LatestAnchored == nil {
				return 0
			}
			return a.o.Now().Sub(st.LatestAnchored.CreatedAt).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_log_checkpoints_unanchored",
			Help: "Checkpoints stored without a time-stamp yet."}, func() float64 {
			st, _ := a.stats()
			return float64(st.Unanchored)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_log_anchor_delay_seconds",
			Help: "Seconds since the oldest unanchored checkpoint was signed (0: every checkpoint is anchored)."}, func() float64 {
			st, _ := a.stats()
			if st.OldestUnanchored == nil {
				return 0
			}
			return a.o.Now().Sub(*st.OldestUnanchored).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_log_anchor_max_delay_seconds",
			Help: "QYSHOOK_TSA_MAX_DELAY: the anchoring delay /readyz and the alert report beyond."}, func() float64 {
			return a.o.MaxDelay.Seconds()
		}),
	}
	return m
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range append([]prometheus.Collector{m.signed, m.shrunk, m.tsaRequests, m.ageAtSign, m.anchorDelay}, m.gauges...) {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
