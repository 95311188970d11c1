package delivery

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	attempts       *prometheus.CounterVec
	attemptSeconds *prometheus.HistogramVec
	lag            prometheus.Histogram
	deadLetters    *prometheus.CounterVec
	disabled       *prometheus.CounterVec
	expired        *prometheus.CounterVec
	queued         prometheus.Counter
	endpoints      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qyshook_delivery_attempts_total",
			Help: "HTTP delivery attempts by endpoint and outcome (ok, gone, http_4xx, http_5xx, http_other, error)."},
			[]string{"endpoint", "outcome"}),
		attemptSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "qyshook_delivery_attempt_seconds",
			Help: "Duration of one delivery attempt, by endpoint.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)},
			[]string{"endpoint"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "qyshook_delivery_lag_seconds",
			Help:    "From a fact's publication on QYS_LEDGER to its successful delivery to one endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 12)}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qyshook_delivery_dead_letters_total",
			Help: "Deliveries dead-lettered once the retry schedule was exhausted, by endpoint."}, []string{"endpoint"}),
		disabled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qyshook_delivery_endpoint_disabled_total",
			Help: "Endpoints disabled by the delivery stage (410 Gone or failing too long), by endpoint."}, []string{"endpoint"}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qyshook_delivery_expired_total",
			Help: "Deliveries dropped from QYS_DELIVERY at its max age while their endpoint was disabled, by endpoint."},
			[]string{"endpoint"}),
		queued: prometheus.NewCounter(prometheus.CounterOpts{Name: "qyshook_delivery_queued_total",
			Help: "Deliveries queued by the fan-out (one per fact and matching endpoint)."}),
		endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "qyshook_delivery_endpoints",
			Help: "Endpoints by state (enabled, disabled)."}, []string{"state"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.attempts, m.attemptSeconds, m.lag, m.deadLetters, m.disabled, m.expired, m.queued, m.endpoints} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("delivery: metrics: %w", err)
		}
	}
	return m, nil
}
